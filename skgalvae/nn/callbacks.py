"""skorch callbacks: per-epoch reconstruction SSIM and an epoch progress bar."""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from ..metrics import ssim
from .data import ArrayDataset, DomainDataset


class ReconstructionSSIM(Callback):
    """Record ``train_ssim``: mean SSIM of reconstructions of a fixed subset.

    The subset is the first ``n_monitor`` training images, reconstructed from
    their posterior means in eval mode at the end of every epoch; it costs one
    small forward pass and no extra host transfer.

    Parameters
    ----------
    data_range : float
        Dynamic range of the images as the module sees them (after scaling).
    n_monitor : int, default=64
        How many training images to monitor (64 keeps the cost near 1 % of a
        CPU epoch of a few thousand images).
    """

    def __init__(self, data_range, n_monitor=64):
        self.data_range = data_range
        self.n_monitor = n_monitor

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Copy the first ``n_monitor`` images of the training dataset.

        For domain adaptation these are source-survey images.
        """
        if isinstance(X, DomainDataset):
            X = X.source
        head = X.array[: self.n_monitor]
        # A copy, not a view: a view would keep the whole training array alive.
        head = head.clone() if torch.is_tensor(head) else np.array(head)
        self.monitor_ = ArrayDataset(head, scale=X.scale)

    def on_train_end(self, net, **kwargs):
        """Release the monitored images."""
        del self.monitor_

    def on_epoch_end(self, net, **kwargs):
        """Record the subset's mean SSIM in the epoch's history row."""
        scores = [
            ssim(x, x_hat, data_range=self.data_range)
            for x, x_hat in net.reconstruct_iter(self.monitor_)
        ]
        net.history.record("train_ssim", float(torch.cat(scores).mean()))


class EpochProgressBar(Callback):
    """A tqdm bar over epochs showing the loss and, for images, the SSIM.

    Parameters
    ----------
    desc : str, default="fit"
        Label of the bar.
    """

    def __init__(self, desc="fit"):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        """Open the bar."""
        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        """Advance the bar and show this epoch's numbers."""
        row = net.history[-1]
        postfix = {"loss": f"{row['train_loss']:.4g}"}
        if "train_ssim" in row:
            postfix["ssim"] = f"{row['train_ssim']:.3f}"
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        """Close the bar."""
        self.bar_.close()
