"""The VAE's training criteria: the negative ELBO, with either prior.

The reconstruction term is a decoder likelihood's negative log-likelihood
(:mod:`skgalvae.nn.likelihoods`), summed over pixels (or features), and the
KL divergence (:mod:`skgalvae.nn.kl`) is summed over latent dimensions: with
``kl_weight=1`` the loss is the negative evidence lower bound.
"""

from __future__ import annotations

from torch import nn

from .kl import free_bits_kl, gaussian_kl, gmm_kl_divergence, kl_divergence
from .likelihoods import make_likelihood
from .pose import best_pose

__all__ = ["ELBOLoss", "GMMELBOLoss"]


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
    invariance : {None, "dihedral"}, default=None
        ``"dihedral"`` scores each reconstruction against the best-matching
        of its target's 8 flips and quarter turns
        (:func:`~skgalvae.nn.pose.best_pose`): the decoder draws the galaxy
        in a pose of its own, and the latents need not hold the orientation.
        A calibrated likelihood's noise is computed from the matched pose.
    consistency_weight : float, default=0.0
        Weight of the consistency term (Sinha & Dieng 2021): the KL between
        the posterior of an augmented view of each image and that of the
        image, ``KL(q(z | t(x)) || q(z | x))``, given by the module as the
        ``view`` argument of :meth:`forward`.

    Returns
    -------
    dict
        ``{"loss", "reconstruction", "kl"}``, each a scalar tensor, and
        ``"consistency"`` when a view is given; ``"loss"`` is the one to
        back-propagate. ``"reconstruction"`` is the batch-mean negative
        log-likelihood, ``"kl"`` the batch-mean KL (free bits do not change
        it).
    """

    def __init__(
        self,
        likelihood="sse",
        kl_weight=1.0,
        free_bits=0.0,
        noise="optimal",
        n_bands=1,
        invariance=None,
        consistency_weight=0.0,
    ):
        super().__init__()
        if invariance not in (None, "dihedral"):
            raise ValueError(
                f"invariance must be None or 'dihedral'; got {invariance!r}."
            )
        self.likelihood = make_likelihood(likelihood, noise, n_bands)
        self.kl_weight = kl_weight
        self.free_bits = free_bits
        self.invariance = invariance
        self.consistency_weight = consistency_weight

    def forward(self, x_hat, x, mu, logvar, *prior, view=None):
        """Compute the loss terms for one batch.

        ``prior`` holds any further module outputs the KL needs (see
        :class:`GMMELBOLoss`); the standard normal prior needs none. ``view``
        is ``(mu, logvar)`` of an augmented view of each image, for the
        consistency term.
        """
        if self.invariance == "dihedral" and x_hat.ndim == 4:
            x, _ = best_pose(x_hat, x, self.likelihood.error_metric)
        rec = self.likelihood(x_hat, x).mean()
        kl = self.kl(mu, logvar, *prior).mean()
        charged = kl
        if self.free_bits > 0 and not prior:
            charged = free_bits_kl(mu, logvar, self.free_bits)
        loss = rec + self.kl_weight * charged
        terms = {"loss": loss, "reconstruction": rec, "kl": kl}
        if view is not None:
            consistency = gaussian_kl(*view, mu, logvar).mean()
            terms["loss"] = terms["loss"] + self.consistency_weight * consistency
            terms["consistency"] = consistency
        return terms

    def kl(self, mu, logvar):
        """Per-sample KL divergence from the prior: :func:`kl_divergence`."""
        return kl_divergence(mu, logvar)


class GMMELBOLoss(ELBOLoss):
    """Batch-mean VaDE loss ``reconstruction + kl_weight * KL`` (mixture prior).

    The KL is :func:`gmm_kl_divergence`, against the module's own mixture
    prior, which is trained with the rest through this loss.

    Parameters
    ----------
    likelihood, kl_weight, noise, n_bands, invariance, consistency_weight
        As for :class:`ELBOLoss`.
    free_bits : float, default=0.0
        Unused: free bits apply to the standard normal prior only.

    Returns
    -------
    dict
        ``{"loss", "reconstruction", "kl"}``, each a scalar tensor, and
        ``"consistency"`` with a view.
    """

    def kl(self, mu, logvar, z, logits, means, logvars):
        """Per-sample KL from the mixture prior: :func:`gmm_kl_divergence`.

        ``z`` and the prior's parameters are the extra outputs of
        :class:`~skgalvae.nn.GMMVAEModule`.
        """
        return gmm_kl_divergence(mu, logvar, z, logits, means, logvars)
