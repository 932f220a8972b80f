"""Loss terms of the VAE as pure tensor functions, plus thin criterion modules.

Each term returns one value per sample, so callers choose the reduction. The
reconstruction term is a decoder likelihood's negative log-likelihood
(:mod:`skgalvae.nn.likelihoods`), summed over pixels (or features), and the
KL divergence is summed over latent dimensions: with ``kl_weight=1`` the loss
is the negative evidence lower bound.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .likelihoods import make_likelihood, reconstruction_error

__all__ = [
    "DomainAdaptationLoss",
    "ELBOLoss",
    "GMMELBOLoss",
    "free_bits_kl",
    "gmm_kl_divergence",
    "gmm_log_joint",
    "kl_divergence",
    "kl_per_latent",
    "mmd2",
    "rbf_bandwidths",
    "reconstruction_error",
]


def kl_per_latent(mu, logvar):
    """KL divergence between ``N(mu, exp(logvar))`` and ``N(0, I)`` per latent.

    Returns
    -------
    torch.Tensor of shape (n, d)
    """
    mu = mu.float()
    logvar = logvar.float()
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)


def kl_divergence(mu, logvar):
    """Per-sample KL divergence between ``N(mu, exp(logvar))`` and ``N(0, I)``.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    return kl_per_latent(mu, logvar).sum(dim=1)


def free_bits_kl(mu, logvar, free_bits):
    """Return the batch KL, each latent's batch mean held at ``free_bits`` or more.

    The free-bits objective of Kingma et al. (2016, eq. 15): a latent whose
    mean KL over the batch is below ``free_bits`` nats costs ``free_bits``
    and gets no gradient from the KL term, so the optimiser has no reason to
    shut it off.

    Parameters
    ----------
    mu, logvar : torch.Tensor of shape (n, d)
        Posterior means and log-variances.
    free_bits : float
        Nats per latent dimension that are free.

    Returns
    -------
    torch.Tensor
        A scalar: the sum over latents of the clamped batch means.
    """
    per_latent = kl_per_latent(mu, logvar).mean(dim=0)
    return per_latent.clamp_min(free_bits).sum()


def gmm_log_joint(z, logits, means, logvars):
    """Per-sample ``log pi_c + log N(z | mu_c, diag(exp(logvar_c)))``.

    Parameters
    ----------
    z : torch.Tensor of shape (n, d)
        Latent points.
    logits : torch.Tensor of shape (k,)
        Unnormalised log mixture weights.
    means, logvars : torch.Tensor of shape (k, d)
        Component means and log-variances.

    Returns
    -------
    torch.Tensor of shape (n, k)
        In float32 (float64 for float64 ``z``); ``log_softmax`` over the last
        axis gives the log responsibilities.
    """
    dtype = torch.promote_types(z.dtype, torch.float32)  # float64 stays
    z, logits, means, logvars = (t.to(dtype) for t in (z, logits, means, logvars))
    log_normal = -0.5 * (
        math.log(2 * math.pi)
        + logvars
        + (z.unsqueeze(1) - means).square() * torch.exp(-logvars)
    ).sum(dim=-1)
    return torch.log_softmax(logits, dim=0) + log_normal


def gmm_kl_divergence(mu, logvar, z, logits, means, logvars):
    """Per-sample ``KL(q(z, c | x) || p(z, c))`` of VaDE (Jiang et al. 2017).

    ``q(z | x) = N(mu, exp(logvar))`` and ``q(c | x)`` is approximated by the
    responsibilities ``gamma = p(c | z)`` at the drawn ``z``; the prior is
    ``p(c) p(z | c)``, a mixture of diagonal Gaussians. In closed form (eq. 17
    of the paper, the ``log 2 pi`` terms cancelling)::

        0.5 sum_c gamma_c sum_d [logvar_cd + exp(logvar_d - logvar_cd)
                                 + (mu_d - mu_cd)^2 exp(-logvar_cd)]
        - sum_c gamma_c (log pi_c - log gamma_c) - 0.5 sum_d (1 + logvar_d)

    With one component of mean 0 and variance 1 it is
    :func:`kl_divergence`.

    Parameters
    ----------
    mu, logvar, z : torch.Tensor of shape (n, d)
        Posterior mean, log-variance and the draw from it.
    logits, means, logvars : torch.Tensor
        The prior, as for :func:`gmm_log_joint`.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    log_gamma = torch.log_softmax(gmm_log_joint(z, logits, means, logvars), dim=1)
    gamma = log_gamma.exp()
    mu, logvar = mu.float(), logvar.float()
    logvars = logvars.float()
    per_component = (
        logvars
        + torch.exp(logvar.unsqueeze(1) - logvars)
        + (mu.unsqueeze(1) - means.float()).square() * torch.exp(-logvars)
    ).sum(dim=-1)
    log_pi = torch.log_softmax(logits.float(), dim=0)
    return (
        0.5 * (gamma * per_component).sum(dim=1)
        - (gamma * (log_pi - log_gamma)).sum(dim=1)
        - 0.5 * (1.0 + logvar).sum(dim=1)
    )


def rbf_bandwidths(sq_distances, n_kernels=5, kernel_mul=2.0):
    """Bandwidths of a multi-kernel RBF, spaced around the mean squared distance.

    As in the study's code (and DAN, Long et al. 2015): the base is the mean of
    the off-diagonal pairwise squared distances of the pooled sample, divided
    by ``kernel_mul ** (n_kernels // 2)``; the bandwidths are the base times
    ``kernel_mul ** i`` for ``i = 0 .. n_kernels - 1``. The bandwidths are
    treated as constants (no gradient flows through them).

    Parameters
    ----------
    sq_distances : torch.Tensor of shape (n, n)
        Pairwise squared distances of the pooled sample.
    n_kernels : int, default=5
        Number of RBF kernels.
    kernel_mul : float, default=2.0
        Ratio of consecutive bandwidths.

    Returns
    -------
    torch.Tensor of shape (n_kernels,)
    """
    n = sq_distances.shape[0]
    base = sq_distances.detach().sum() / (n * n - n)
    base = base.clamp_min(torch.finfo(sq_distances.dtype).tiny)
    base = base / kernel_mul ** (n_kernels // 2)
    powers = torch.arange(n_kernels, dtype=sq_distances.dtype, device=base.device)
    return base * kernel_mul**powers


def mmd2(source, target, kernel="rbf", n_kernels=5, kernel_mul=2.0, paired=False):
    """Unbiased squared maximum mean discrepancy between two samples.

    ``MMD^2_u = mean_{i != j} k(s_i, s_j) + mean_{i != j} k(t_i, t_j)
    - 2 mean_{i, j} k(s_i, t_j)`` (Gretton et al. 2012, eq. 3), for samples of
    any sizes ``m, n >= 2``. It is differentiable, so it serves as the domain
    adaptation loss on latent means and as the metric. Being unbiased, it can
    be slightly negative when the two distributions are equal.

    With ``paired=True`` (``s_i`` and ``t_i`` are the same object, so not
    independent) the cross term also leaves out ``i == j``: the U-statistic
    ``mean_{i != j} h(z_i, z_j)`` of Gretton et al. (2012, Lemma 6), which
    stays unbiased for paired samples. The all-pairs cross term would count
    each object against itself and read paired samples as closer than their
    distributions are.

    Parameters
    ----------
    source : torch.Tensor of shape (m, d)
        Sample from the first distribution (e.g. source-survey latents).
    target : torch.Tensor of shape (n, d)
        Sample from the second distribution.
    kernel : {"rbf", "linear"}, default="rbf"
        ``"rbf"``: a sum of ``n_kernels`` Gaussian kernels with bandwidths from
        :func:`rbf_bandwidths` on the pooled sample, as in the study's code.
        ``"linear"``: ``k(x, y) = x . y``, for which MMD^2 is the squared
        distance between the means.
    n_kernels : int, default=5
        Number of RBF kernels.
    kernel_mul : float, default=2.0
        Ratio of consecutive RBF bandwidths.
    paired : bool, default=False
        Whether row ``i`` of both samples is the same object (needs ``m == n``).

    Returns
    -------
    torch.Tensor
        A scalar, in float32 or the inputs' wider dtype.
    """
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(
            "mmd2 needs two 2-D samples with the same number of columns; got "
            f"shapes {tuple(source.shape)} and {tuple(target.shape)}."
        )
    m, n = source.shape[0], target.shape[0]
    if m < 2 or n < 2:
        raise ValueError(
            f"mmd2 needs at least 2 samples on each side; got {m} and {n}."
        )
    dtype = torch.promote_types(source.dtype, torch.float32)
    pooled = torch.cat([source, target]).to(dtype)
    if kernel == "linear":
        gram = pooled @ pooled.T
    elif kernel == "rbf":
        sq = (pooled.unsqueeze(0) - pooled.unsqueeze(1)).square().sum(dim=-1)
        bandwidths = rbf_bandwidths(sq, n_kernels, kernel_mul)
        gram = torch.exp(-sq.unsqueeze(0) / bandwidths.view(-1, 1, 1)).sum(dim=0)
    else:
        raise ValueError(f"kernel must be 'rbf' or 'linear'; got {kernel!r}.")
    k_ss, k_tt, k_st = gram[:m, :m], gram[m:, m:], gram[:m, m:]
    within_s = (k_ss.sum() - k_ss.diagonal().sum()) / (m * (m - 1))
    within_t = (k_tt.sum() - k_tt.diagonal().sum()) / (n * (n - 1))
    if paired:
        if m != n:
            raise ValueError(
                f"Paired samples need as many rows on each side; got {m} and {n}."
            )
        cross = (k_st.sum() - k_st.diagonal().sum()) / (m * (m - 1))
    else:
        cross = k_st.mean()
    return within_s + within_t - 2 * cross


class ELBOLoss(nn.Module):
    """Batch-mean VAE loss ``negative log-likelihood + kl_weight * KL``.

    Parameters
    ----------
    likelihood : str or Likelihood, default="sse"
        The decoder likelihood: a name for
        :func:`~skgalvae.nn.likelihoods.make_likelihood` (``"sse"``, the
        study's summed squared error, ``"sae"``, ``"gaussian"``,
        ``"laplace"``; ``"mse"`` and ``"mae"`` mean ``"sse"`` and ``"sae"``)
        or a likelihood object.
    kl_weight : float, default=1.0
        Weight ``k`` of the KL term (paper eq. 2).
    free_bits : float, default=0.0
        Nats per latent that the KL term does not charge for
        (:func:`free_bits_kl`); 0 is the plain KL.
    noise : "optimal", "learned", float or tuple, default="optimal"
        Noise of a calibrated likelihood given by name.
    n_bands : int, default=1
        Bands of the images (one noise scale each), for a likelihood by name.

    Returns
    -------
    dict
        ``{"loss", "reconstruction", "kl"}``, each a scalar tensor; ``"loss"`` is
        the one to back-propagate. ``"reconstruction"`` is the batch-mean
        negative log-likelihood, ``"kl"`` the batch-mean KL (free bits do not
        change it).
    """

    def __init__(
        self, likelihood="sse", kl_weight=1.0, free_bits=0.0, noise="optimal", n_bands=1
    ):
        super().__init__()
        self.likelihood = make_likelihood(likelihood, noise, n_bands)
        self.kl_weight = kl_weight
        self.free_bits = free_bits

    def forward(self, x_hat, x, mu, logvar, *prior):
        """Compute the loss terms for one batch.

        ``prior`` holds any further module outputs the KL needs (see
        :class:`GMMELBOLoss`); the standard normal prior needs none.
        """
        rec = self.likelihood(x_hat, x).mean()
        kl = self.kl(mu, logvar, *prior).mean()
        charged = kl
        if self.free_bits > 0 and not prior:
            charged = free_bits_kl(mu, logvar, self.free_bits)
        return {"loss": rec + self.kl_weight * charged, "reconstruction": rec, "kl": kl}

    def kl(self, mu, logvar):
        """Per-sample KL divergence from the prior: :func:`kl_divergence`."""
        return kl_divergence(mu, logvar)


class GMMELBOLoss(ELBOLoss):
    """Batch-mean VaDE loss ``reconstruction + kl_weight * KL`` (mixture prior).

    The KL is :func:`gmm_kl_divergence`, against the module's own mixture
    prior, which is trained with the rest through this loss.

    Parameters
    ----------
    likelihood, kl_weight, noise, n_bands
        As for :class:`ELBOLoss`.
    free_bits : float, default=0.0
        Unused: free bits apply to the standard normal prior only.

    Returns
    -------
    dict
        ``{"loss", "reconstruction", "kl"}``, each a scalar tensor.
    """

    def kl(self, mu, logvar, z, logits, means, logvars):
        """Per-sample KL from the mixture prior: :func:`gmm_kl_divergence`.

        ``z`` and the prior's parameters are the extra outputs of
        :class:`~skgalvae.nn.GMMVAEModule`.
        """
        return gmm_kl_divergence(mu, logvar, z, logits, means, logvars)


class DomainAdaptationLoss(nn.Module):
    """The study's domain adaptation loss (eq. 6), with its terms kept apart.

    ``L = ELBO(source) + ELBO(target) + mmd_weight * MMD^2(mu_source,
    mu_target)``, each ELBO an :class:`ELBOLoss` (batch means), the MMD^2 the
    unbiased :func:`mmd2` on the latent means.

    Parameters
    ----------
    likelihood : str or Likelihood, default="sse"
        Decoder likelihood of both ELBOs (each survey gets its own copy, so
        its own noise scale).
    kl_weight : float, default=1.0
        Weight of both KL terms.
    mmd_weight : float, default=0.5
        Weight ``lambda`` of the MMD^2 term (the study: 0.5).
    kernel : {"rbf", "linear"}, default="rbf"
        MMD kernel, as for :func:`mmd2`.
    n_kernels : int, default=5
        Number of RBF kernels.
    kernel_mul : float, default=2.0
        Ratio of consecutive RBF bandwidths.
    paired : bool, default=False
        Whether the batches are paired (row ``i`` the same object on both
        sides); the MMD^2 then uses the paired unbiased estimator.
    free_bits, noise, n_bands
        As for :class:`ELBOLoss`.

    Returns
    -------
    dict
        ``"loss"`` (to back-propagate), ``"reconstruction"``, ``"kl"`` (source
        side), ``"reconstruction_target"``, ``"kl_target"`` and ``"mmd"``.
    """

    def __init__(
        self,
        likelihood="sse",
        kl_weight=1.0,
        mmd_weight=0.5,
        kernel="rbf",
        n_kernels=5,
        kernel_mul=2.0,
        paired=False,
        free_bits=0.0,
        noise="optimal",
        n_bands=1,
    ):
        super().__init__()
        self.elbo = ELBOLoss(likelihood, kl_weight, free_bits, noise, n_bands)
        self.elbo_target = ELBOLoss(
            copy.deepcopy(self.elbo.likelihood), kl_weight, free_bits
        )
        self.paired = paired
        self.mmd_weight = mmd_weight
        self.kernel = kernel
        self.n_kernels = n_kernels
        self.kernel_mul = kernel_mul

    @property
    def likelihood(self):
        """The source survey's likelihood (the target's is ``elbo_target``'s)."""
        return self.elbo.likelihood

    @property
    def kl_weight(self):
        """Weight of both KL terms (a KL warm-up sets it)."""
        return self.elbo.kl_weight

    @kl_weight.setter
    def kl_weight(self, value):
        self.elbo.kl_weight = value
        self.elbo_target.kl_weight = value

    def forward(self, y_pred, x, x_target):
        """Compute the loss terms for one pair of batches.

        Parameters
        ----------
        y_pred : tuple of torch.Tensor
            ``(x_hat, mu, logvar, x_hat_target, mu_target, logvar_target)`` from
            :class:`~skgalvae.nn.modules.DomainAdaptedVAEModule`.
        x, x_target : torch.Tensor
            The source and target batches.
        """
        x_hat, mu, logvar, x_hat_t, mu_t, logvar_t = y_pred
        source = self.elbo(x_hat, x, mu, logvar)
        target = self.elbo_target(x_hat_t, x_target, mu_t, logvar_t)
        mmd = mmd2(
            mu.float(),
            mu_t.float(),
            self.kernel,
            self.n_kernels,
            self.kernel_mul,
            paired=self.paired,
        )
        return {
            "loss": source["loss"] + target["loss"] + self.mmd_weight * mmd,
            "reconstruction": source["reconstruction"],
            "kl": source["kl"],
            "reconstruction_target": target["reconstruction"],
            "kl_target": target["kl"],
            "mmd": mmd,
        }
