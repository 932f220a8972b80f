"""skorch callbacks: reconstruction SSIM, an epoch progress bar, KL warm-up."""

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


class KLWarmup(Callback):
    """Raise the weight of the KL term linearly over the first epochs.

    KL annealing (Bowman et al. 2016; used by AstroVaDEr, Spindler et al.
    2021): with the full KL weight from the first step, the posterior can
    collapse onto the prior before the decoder learns to use the latents.
    In epoch ``e`` (from 1) the criterion's ``kl_weight`` is ``min(1, e /
    n_epochs)`` times the net's ``criterion__kl_weight``; the value used is
    recorded as ``kl_weight`` in the history.

    Parameters
    ----------
    n_epochs : int
        Epochs until the full weight.
    """

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs

    def on_train_begin(self, net, **kwargs):
        """Read the full weight the criterion was built with."""
        self.full_weight_ = net.get_params_for("criterion").get("kl_weight", 1.0)

    def on_epoch_begin(self, net, **kwargs):
        """Set this epoch's weight on the criterion."""
        epoch = len(net.history)  # the net opened this epoch's row already
        weight = self.full_weight_ * min(1.0, epoch / self.n_epochs)
        net.criterion_.kl_weight = weight
        net.history.record("kl_weight", weight)

    def on_train_end(self, net, **kwargs):
        """Leave the criterion at its full weight."""
        net.criterion_.kl_weight = self.full_weight_
