"""KL divergences of the VAE's latent posteriors, as pure tensor functions.

Each returns one value per sample (or per sample and latent), summed over
latent dimensions, so that callers choose the reduction: against the
standard normal prior (:func:`kl_divergence`, with free bits
:func:`free_bits_kl`), between two diagonal Gaussians (:func:`gaussian_kl`)
and against a Gaussian mixture prior (:func:`gmm_kl_divergence`, VaDE).
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "free_bits_kl",
    "gaussian_kl",
    "gmm_kl_divergence",
    "gmm_log_joint",
    "kl_divergence",
    "kl_per_latent",
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


def gaussian_kl(mu_p, logvar_p, mu_q, logvar_q):
    """Per-sample ``KL(N(mu_p, exp(logvar_p)) || N(mu_q, exp(logvar_q)))``.

    Both are diagonal Gaussians; the KL is summed over latent dimensions.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    mu_p, logvar_p, mu_q, logvar_q = (
        t.float() for t in (mu_p, logvar_p, mu_q, logvar_q)
    )
    return 0.5 * (
        logvar_q
        - logvar_p
        + (logvar_p.exp() + (mu_p - mu_q).square()) * torch.exp(-logvar_q)
        - 1.0
    ).sum(dim=1)


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
