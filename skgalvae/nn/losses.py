"""Loss terms of the VAE as pure tensor functions, plus a thin criterion module.

Each term returns one value per sample, so callers choose the reduction. The
reconstruction error is summed over pixels (or features) and the KL divergence
over latent dimensions, as in the authors' training code: with ``kl_weight=1``
this is the negative evidence lower bound up to a constant for a Gaussian (MSE)
or Laplace (MAE) likelihood.
"""

from __future__ import annotations

from torch import nn


def reconstruction_error(x_hat, x, kind="mse"):
    """Per-sample reconstruction error, summed over all non-batch dimensions.

    Parameters
    ----------
    x_hat, x : torch.Tensor of shape (n, ...)
        Reconstruction and target.
    kind : {"mse", "mae"}, default="mse"
        Squared or absolute error.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    diff = x_hat.float() - x.float()
    if kind == "mse":
        err = diff.square()
    elif kind == "mae":
        err = diff.abs()
    else:
        raise ValueError(f"kind must be 'mse' or 'mae'; got {kind!r}.")
    return err.flatten(1).sum(dim=1)


def kl_divergence(mu, logvar):
    """Per-sample KL divergence between ``N(mu, exp(logvar))`` and ``N(0, I)``.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    mu = mu.float()
    logvar = logvar.float()
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(dim=1)


class ELBOLoss(nn.Module):
    """Batch-mean VAE loss ``reconstruction + kl_weight * KL``.

    Parameters
    ----------
    reconstruction : {"mse", "mae"}, default="mse"
        Reconstruction term.
    kl_weight : float, default=1.0
        Weight ``k`` of the KL term (paper eq. 2).

    Returns
    -------
    dict
        ``{"loss", "reconstruction", "kl"}``, each a scalar tensor; ``"loss"`` is
        the one to back-propagate.
    """

    def __init__(self, reconstruction="mse", kl_weight=1.0):
        super().__init__()
        self.reconstruction = reconstruction
        self.kl_weight = kl_weight

    def forward(self, x_hat, x, mu, logvar):
        """Compute the loss terms for one batch."""
        rec = reconstruction_error(x_hat, x, self.reconstruction).mean()
        kl = kl_divergence(mu, logvar).mean()
        return {"loss": rec + self.kl_weight * kl, "reconstruction": rec, "kl": kl}
