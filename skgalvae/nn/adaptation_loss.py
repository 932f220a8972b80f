"""The domain-adaptation criterion: each survey's ELBO plus alignment terms.

:class:`DomainAdaptationLoss` adds to one :class:`~skgalvae.nn.ELBOLoss` per
survey a distance between the surveys' latents
(:data:`~skgalvae.nn.adaptation.ADAPTATIONS`), the paired consistency of
paired data and the anchor penalty, and balances their weights by their
gradients.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import math

import torch
from torch import nn

from .adaptation import ADAPTATIONS, paired_consistency, takes_centres
from .distributed import all_reduce_sum
from .domain_data import domain_batches
from .losses import ELBOLoss

__all__ = ["DomainAdaptationLoss"]


#: The options :class:`DomainAdaptationLoss` passes to a distance of
#: :data:`~skgalvae.nn.adaptation.ADAPTATIONS` whose signature names them.
_DISTANCE_OPTIONS = ("paired", "kernel", "n_kernels", "kernel_mul", "centres")


class DomainAdaptationLoss(nn.Module):
    """The study's domain adaptation loss (eq. 6), for two or more surveys.

    ``L = sum_d ELBO_d + a * A + p * P``: one :class:`ELBOLoss` (batch means)
    per survey ``d``, a distribution distance ``A`` between the surveys'
    latent means (:data:`~skgalvae.nn.adaptation.ADAPTATIONS`; averaged over
    all pairs of surveys when there are more than two) and, for paired data,
    the per-object :func:`~skgalvae.nn.adaptation.paired_consistency` ``P``.

    How ``a`` and ``p`` follow from ``mmd_weight`` and ``paired_weight``
    depends on ``weighting``:

    - ``"fixed"``: ``a = mmd_weight``, ``p = paired_weight``, as in the
      study. The reconstruction is summed over pixels, so the same weight
      counts for less on larger images, more bands or a sharper likelihood.
    - ``"balanced"``: scale-free. Over the first ``calibration_batches``
      training batches, every ``balance_every`` batches, the gradients of
      the ELBOs and of each adaptation term with respect to the shared
      encoder's weights (``shared_parameters``) are measured, and ``a`` is
      set so that the adaptation gradient's norm is ``mmd_weight`` times the
      ELBOs' (likewise ``p``), then held. ``mmd_weight=1`` means "start by
      pulling the encoder as hard toward alignment as toward
      reconstruction", whatever the images, likelihood or batch size.
      Measured on the weights rather
      than on the latent means, the sampling noise of the reparameterised
      draws, which averages out over a batch, does not count as pull. Each
      measurement costs about one training step; after the calibration they
      go on every ``monitor_every`` batches, for ``grad_ratio``.

    Parameters
    ----------
    likelihood : str or Likelihood, default="sse"
        Decoder likelihood of every survey's ELBO (each survey gets its own
        copy, so its own noise scale).
    kl_weight : float, default=1.0
        Weight of every KL term.
    mmd_weight : float, default=0.5
        Weight of the distribution distance (see ``weighting``).
    kernel : {"rbf", "linear"}, default="rbf"
        MMD kernel, as for :func:`~skgalvae.nn.adaptation.mmd2`.
    n_kernels : int, default=5
        Number of RBF kernels.
    kernel_mul : float, default=2.0
        Ratio of consecutive RBF bandwidths.
    paired : bool, default=False
        Whether the batches are paired (row ``i`` the same object on every
        side); the MMD^2 then uses the paired unbiased estimator.
    free_bits, noise, n_bands, invariance
        As for :class:`ELBOLoss`.
    adaptation : {"mmd", "coral", "cluster_mmd"}, default="mmd"
        The distribution distance; ``"cluster_mmd"`` needs
        ``cluster_centres``.
    paired_weight : float, default=0.0
        Weight of the paired-consistency term (see ``weighting``); needs
        ``paired=True``. 0 leaves it out.
    anchor_weight : float, default=0.0
        Weight of the term that holds the first survey's latent means to
        the frozen anchor encoder's (:func:`~skgalvae.nn.adaptation.paired_consistency`
        between the two, see ``weighting``), for a module with
        ``anchor="latents"``; the surveys are then aligned to the anchor's
        latents. 0 leaves it out.
    weighting : {"balanced", "fixed"}, default="balanced"
        How the weights apply, as above.
    n_domains : int, default=2
        Number of surveys (one ELBO each).
    balance_every : int, default=10
        Training batches between two gradient measurements while calibrating.
    calibration_batches : int, default=50
        With ``"balanced"``, the weights are the mean of the measurements
        over the first ``calibration_batches`` batches, then held: a weight
        re-balanced all along would grow without bound as its term
        vanishes (an aligned MMD, pairs that agree), collapsing the latent
        space.
    monitor_every : int, default=50
        Training batches between two measurements after the calibration,
        which only update ``grad_ratio``.
    cluster_centres : array-like of shape (k, d) or None, default=None
        Centres of the latent clusters within which ``"cluster_mmd"``
        aligns the surveys (e.g. k-means centres of the source survey's
        latents); held as a buffer, so they move with the criterion.

    Attributes
    ----------
    adaptation_weights : dict of str to float
        The weights ``a`` (under the adaptation's name), ``p``
        (``"paired"``) and the anchor's (``"anchor"``) in force; with
        ``"balanced"`` they change as training goes.
    grad_ratio : float
        At the last measurement: the norm of the weighted adaptation terms'
        gradient over the ELBOs' gradient, before the weights were
        re-balanced (NaN before the first).
    shared_parameters : list of torch.Tensor or None
        The shared encoder's parameters, where the gradients are measured;
        :class:`~skgalvae.nn.VAENet` sets them. ``None`` measures at the
        latent means instead.

    Returns
    -------
    dict
        ``"loss"`` (to back-propagate); ``"reconstruction"`` and ``"kl"`` of
        the first survey; ``"reconstruction_target"`` and ``"kl_target"`` of
        the second; the adaptation term under its name (``"mmd"``,
        ``"coral"``), ``"paired"`` and ``"anchor"`` when weighted;
        ``"adaptation_weight"`` (``a``) and ``"grad_ratio"``.
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
        adaptation="mmd",
        paired_weight=0.0,
        anchor_weight=0.0,
        weighting="balanced",
        n_domains=2,
        balance_every=10,
        calibration_batches=50,
        monitor_every=50,
        invariance=None,
        cluster_centres=None,
    ):
        super().__init__()
        if adaptation not in ADAPTATIONS:
            raise ValueError(
                f"adaptation must be one of {sorted(ADAPTATIONS)}; got {adaptation!r}."
            )
        if weighting not in ("balanced", "fixed"):
            raise ValueError(
                f"weighting must be 'balanced' or 'fixed'; got {weighting!r}."
            )
        if paired_weight > 0 and not paired:
            raise ValueError(
                "paired_weight > 0 needs paired=True: the consistency term compares "
                "each object's latents in two surveys."
            )
        if n_domains < 2:
            raise ValueError(f"n_domains must be at least 2; got {n_domains}.")
        # Each distance takes the options its signature names, so a distance
        # added to ADAPTATIONS needs no change here.
        accepted = inspect.signature(ADAPTATIONS[adaptation]).parameters
        self._distance_options = [o for o in _DISTANCE_OPTIONS if o in accepted]
        if takes_centres(adaptation) and cluster_centres is None:
            raise ValueError(
                f"adaptation={adaptation!r} needs cluster_centres: the latent "
                f"clusters within which the surveys are aligned."
            )
        centres = (
            torch.empty(0)
            if cluster_centres is None
            else torch.as_tensor(cluster_centres, dtype=torch.float32)
        )
        # Not persistent: the estimator passes them again when it rebuilds.
        self.register_buffer("cluster_centres", centres, persistent=False)
        self.elbo = ELBOLoss(
            likelihood, kl_weight, free_bits, noise, n_bands, invariance=invariance
        )
        self.domain_elbos = nn.ModuleList(
            self._copy_elbo(kl_weight, free_bits) for _ in range(n_domains - 1)
        )
        self.paired = paired
        self.mmd_weight = mmd_weight
        self.kernel = kernel
        self.n_kernels = n_kernels
        self.kernel_mul = kernel_mul
        self.adaptation = adaptation
        self.paired_weight = paired_weight
        self.anchor_weight = anchor_weight
        self.weighting = weighting
        self.n_domains = n_domains
        self.balance_every = balance_every
        self.adaptation_weights = self._requested_weights()
        self.grad_ratio = math.nan
        self.shared_parameters = None
        self.calibration_batches = calibration_batches
        self.monitor_every = monitor_every
        self._ratios = {}
        self._batches_seen = 0

    def _copy_elbo(self, kl_weight, free_bits):
        return ELBOLoss(
            copy.deepcopy(self.elbo.likelihood),
            kl_weight,
            free_bits,
            invariance=self.elbo.invariance,
        )

    def _requested_weights(self):
        weights = {self.adaptation: float(self.mmd_weight)}
        if self.paired_weight > 0:
            weights["paired"] = float(self.paired_weight)
        if self.anchor_weight > 0:
            weights["anchor"] = float(self.anchor_weight)
        return weights

    @property
    def elbos(self):
        """Every survey's :class:`ELBOLoss`, in domain order."""
        return [self.elbo, *self.domain_elbos]

    @property
    def invariance(self):
        """Every survey's ELBO's ``invariance``."""
        return self.elbo.invariance

    @property
    def likelihood(self):
        """The first survey's likelihood (the others' are in :attr:`elbos`)."""
        return self.elbo.likelihood

    @property
    def kl_weight(self):
        """Weight of every KL term (a KL warm-up sets it)."""
        return self.elbo.kl_weight

    @kl_weight.setter
    def kl_weight(self, value):
        for elbo in self.elbos:
            elbo.kl_weight = value

    def adaptation_terms(self, mus, anchor=None):
        """Return the unweighted adaptation terms for each survey's latent means.

        Parameters
        ----------
        mus : list of torch.Tensor of shape (n, d)
            Latent means, one batch per survey.
        anchor : torch.Tensor of shape (n, d) or None, default=None
            The frozen anchor encoder's latent means of the first survey's
            batch: the other surveys are aligned to them in place of the
            first survey's own, which ``"anchor"`` holds to them.

        Returns
        -------
        dict of str to torch.Tensor
            The distribution distance under its name, averaged over all pairs
            of surveys, ``"paired"`` when ``paired_weight > 0`` and
            ``"anchor"`` when ``anchor_weight > 0`` (and ``anchor`` given).
        """
        mus = [mu.float() for mu in mus]
        aligned = mus if anchor is None else [anchor.float(), *mus[1:]]
        pairs = list(itertools.combinations(aligned, 2))
        distance = ADAPTATIONS[self.adaptation]
        values = {
            "paired": self.paired,
            "kernel": self.kernel,
            "n_kernels": self.n_kernels,
            "kernel_mul": self.kernel_mul,
            "centres": self.cluster_centres,
        }
        options = {name: values[name] for name in self._distance_options}
        terms = {
            self.adaptation: torch.stack(
                [distance(s, t, **options) for s, t in pairs]
            ).mean()
        }
        if self.paired_weight > 0:
            terms["paired"] = torch.stack(
                [paired_consistency(s, t) for s, t in pairs]
            ).mean()
        if anchor is not None and self.anchor_weight > 0:
            terms["anchor"] = paired_consistency(mus[0], aligned[0])
        return terms

    def measures_next_batch(self):
        """Whether the next training batch measures the terms' gradients.

        The measurement back-propagates the batch several times (keeping
        the graph): :class:`~skgalvae.nn.VAENet` runs such a batch through
        the eager module when the module is compiled.
        """
        seen = self._batches_seen
        calibrating = seen < self.calibration_batches
        every = self.balance_every if calibrating else self.monitor_every
        return self.training and seen % every == 0

    def _rebalance(self, elbo_loss, terms, mus):
        """Measure gradient norms on the shared encoder; re-weight when balanced."""
        inputs = self.shared_parameters or mus

        def gradients(output):
            grads = torch.autograd.grad(
                output, inputs, retain_graph=True, allow_unused=True
            )
            return [g.float() if g is not None else None for g in grads]

        def squared_norm(grads):
            # Inputs no term reaches have None (or 0, once summed) as gradient.
            return sum(g.square().sum() for g in grads if torch.is_tensor(g))

        per_term = [gradients(value) for value in terms.values()]
        # The weighted sum's gradient, from the terms' own (no further pass).
        weighted = [
            sum(
                self.adaptation_weights[name] * grads[i]
                for name, grads in zip(terms, per_term, strict=True)
                if grads[i] is not None
            )
            for i in range(len(inputs))
        ]
        squares = torch.stack(
            [
                torch.as_tensor(squared_norm(grads), dtype=torch.float32)
                for grads in (gradients(elbo_loss), weighted, *per_term)
            ]
        )
        # One sum over processes, so every replica uses the same weights.
        norms = all_reduce_sum(squares.detach()).sqrt().tolist()
        elbo_norm, weighted_norm, *term_norms = norms
        if elbo_norm > 0:
            self.grad_ratio = weighted_norm / elbo_norm
        calibrating = self._batches_seen < self.calibration_batches
        if self.weighting != "balanced" or not calibrating or not elbo_norm > 0:
            return
        requested = self._requested_weights()
        for name, norm in zip(terms, term_norms, strict=True):
            if norm > 0 and math.isfinite(norm):
                # The mean of the measured ratios so far.
                ratios = self._ratios.setdefault(name, [])
                ratios.append(elbo_norm / norm)
                self.adaptation_weights[name] = requested[name] * float(
                    sum(ratios) / len(ratios)
                )

    def forward(self, y_pred, x, **more):
        """Compute the loss terms for one batch of every survey.

        Parameters
        ----------
        y_pred : tuple of torch.Tensor
            ``(x_hat, mu, logvar)`` of each survey in turn, from
            :class:`~skgalvae.nn.modules.DomainAdaptedVAEModule`, then the
            anchor encoder's latent means of the first survey when it has
            one (``anchor="latents"``).
        x : torch.Tensor
            The first survey's batch.
        **more : torch.Tensor
            The other surveys' batches, as ``x_1``, ``x_2``, ...
            (:func:`~skgalvae.nn.domain_data.domain_key`).
        """
        inputs = domain_batches(x, more, self.n_domains)
        outputs = [y_pred[3 * d : 3 * d + 3] for d in range(self.n_domains)]
        elbos = [
            elbo(x_hat, batch, mu, logvar)
            for elbo, batch, (x_hat, mu, logvar) in zip(
                self.elbos, inputs, outputs, strict=True
            )
        ]
        elbo_loss = sum(e["loss"] for e in elbos)
        mus = [mu for _, mu, _ in outputs]
        anchor = y_pred[-1] if len(y_pred) > 3 * self.n_domains else None
        terms = self.adaptation_terms(mus, anchor)
        # Anchored to a frozen source, only the other surveys' latents train.
        training = (
            self.training
            and torch.is_grad_enabled()
            and any(mu.requires_grad for mu in mus)
        )
        if training:
            if self.measures_next_batch():
                self._rebalance(elbo_loss, terms, mus)
            self._batches_seen += 1
        loss = elbo_loss + sum(
            self.adaptation_weights[name] * value for name, value in terms.items()
        )
        reference = elbos[0]["loss"]
        # new_full fills on the device; new_tensor would copy from the host.
        return {
            "loss": loss,
            "reconstruction": elbos[0]["reconstruction"],
            "kl": elbos[0]["kl"],
            "reconstruction_target": elbos[1]["reconstruction"],
            "kl_target": elbos[1]["kl"],
            **terms,
            "adaptation_weight": reference.new_full(
                (), self.adaptation_weights[self.adaptation]
            ),
            "grad_ratio": reference.new_full((), self.grad_ratio),
        }
