"""skorch callbacks: reconstruction SSIM, per-latent KL, a progress bar, KL warm-up."""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import Callback

from ..utils._progress import progress
from .data import ArrayDataset
from .domain_data import DomainDataset
from .kl import kl_per_latent
from .ssim import ssim


class _MonitoredSubset(Callback):
    """Keep the first ``n_monitor`` training or validation samples to measure.

    A cheap measurement on them at the end of every epoch is the subclass's.

    Parameters
    ----------
    n_monitor : int
        How many samples to monitor.
    on : {"train", "valid"}
        Which data set to take them from.
    """

    def __init__(self, n_monitor, on="train"):
        self.n_monitor = n_monitor
        self.on = on

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Copy the first ``n_monitor`` samples of the monitored data.

        For domain adaptation these are source-survey samples.
        """
        if self.on == "valid":
            _, X = net.get_split_datasets(X, y)
        if isinstance(X, DomainDataset):
            X = X.source
        head = X.array[: self.n_monitor]
        # A copy, not a view: a view would keep the whole training array alive.
        head = head.clone() if torch.is_tensor(head) else np.array(head)
        self.monitor_ = ArrayDataset(head, scale=X.scale)

    def on_train_end(self, net, **kwargs):
        """Release the monitored samples."""
        del self.monitor_


class ReconstructionSSIM(_MonitoredSubset):
    """Record the mean SSIM of reconstructions of a fixed subset of images.

    The subset is the first ``n_monitor`` training (or validation) images,
    reconstructed from their posterior means in eval mode at the end of every
    epoch; it costs one small forward pass and no extra host transfer.

    Parameters
    ----------
    data_range : float
        Dynamic range of the images as the module sees them (after scaling).
    n_monitor : int, default=64
        How many images to monitor (64 keeps the cost near 1 % of a CPU epoch
        of a few thousand images).
    name : str, default="train_ssim"
        History key of the score.
    on : {"train", "valid"}, default="train"
        Monitor training or validation images.
    """

    def __init__(self, data_range, n_monitor=64, name="train_ssim", on="train"):
        super().__init__(n_monitor, on)
        self.data_range = data_range
        self.name = name

    def on_epoch_end(self, net, **kwargs):
        """Record the subset's mean SSIM in the epoch's history row."""
        scores = [
            ssim(x, x_hat, data_range=self.data_range)
            for x, x_hat in net.reconstruct_iter(self.monitor_)
        ]
        net.history.record(self.name, float(torch.cat(scores).mean()))


class LatentKL(_MonitoredSubset):
    """Record ``kl_per_latent``: each latent's mean KL from the prior, per epoch.

    Measured on the first ``n_monitor`` training samples, in eval mode, at
    the end of every epoch: a latent whose KL falls to ~0 has collapsed onto
    the prior and carries no information.

    Parameters
    ----------
    n_monitor : int, default=64
        How many samples to encode.
    on : {"train", "valid"}, default="train"
        Monitor training or validation samples.
    """

    def __init__(self, n_monitor=64, on="train"):
        super().__init__(n_monitor, on)

    def on_epoch_end(self, net, **kwargs):
        """Record the list of per-latent mean KLs in the epoch's history row."""
        kl = torch.cat(
            [kl_per_latent(mu, logvar) for mu, logvar in net.encode_iter(self.monitor_)]
        )
        net.history.record("kl_per_latent", kl.mean(dim=0).cpu().tolist())


class EpochProgressBar(Callback):
    """Progress over epochs showing the loss and, for images, the SSIM.

    A tqdm bar on a terminal, plain lines in a log (see ``skgalvae`` logging).

    Parameters
    ----------
    desc : str, default="fit"
        Label of the bar.
    """

    def __init__(self, desc="fit"):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        """Open the bar."""
        self.bar_ = progress(total=net.max_epochs, desc=self.desc, unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        """Advance the bar and show this epoch's numbers."""
        row = net.history[-1]
        postfix = f"loss={row['train_loss']:.4g}"
        if "train_ssim" in row:
            postfix += f", ssim={row['train_ssim']:.3f}"
        self.bar_.set_postfix_str(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        """Close the bar (and let go of it: a fitted model pickles without it)."""
        self.bar_.close()
        del self.bar_


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
