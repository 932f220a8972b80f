"""Decoder likelihoods of the VAE: one object per likelihood, in one registry.

A likelihood turns a reconstruction and its target into the per-sample
negative log-likelihood that the ELBO needs, and names the error unit
(squared or absolute) in which reconstructions are judged. The estimators
pick one by name through their ``likelihood`` parameter.

- ``"sse"`` and ``"sae"``: the study's summed squared or absolute error. As a
  likelihood, a Gaussian (Laplace) decoder of a fixed noise of 1/sqrt(2) (1) on
  unit-scale pixels: hundreds of times the real residual of a galaxy cutout,
  so the KL term wins, and most latent directions switch off (a direction
  survives only where the data varies more than the noise; Lucas et al. 2019).
- ``"gaussian"`` and ``"laplace"``: calibrated decoders. Their noise is
  ``"optimal"`` (the closed-form maximum-likelihood scale of the batch's
  residual, per band: the sigma-VAE of Rybkin, Daniilidis & Levine 2021),
  ``"learned"`` (a trained log-scale per band) or a known number (e.g. the sky
  noise, in the units the network sees).
"""

from __future__ import annotations

import math
from numbers import Real

import torch
from torch import nn

from .distributed import all_reduce_sum, data_parallel_rank

#: Smallest noise scale a calibrated likelihood uses, in the units the
#: network sees (unit-scale pixels): the quantisation step of 8-bit images
#: is 1/255, so a residual below this is noise-free for any survey cutout.
MIN_NOISE = 1e-3


def _float_residual(x_hat, x):
    """``x_hat - x`` in at least float32 (bf16 autocast outputs are widened)."""
    dtype = torch.promote_types(
        torch.promote_types(x_hat.dtype, x.dtype), torch.float32
    )
    return x_hat.to(dtype) - x.to(dtype)


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
        In float32, or float64 for float64 inputs.
    """
    diff = _float_residual(x_hat, x)
    if kind == "mse":
        err = diff.square()
    elif kind == "mae":
        err = diff.abs()
    else:
        raise ValueError(f"kind must be 'mse' or 'mae'; got {kind!r}.")
    return err.flatten(1).sum(dim=1)


def _per_band(values):
    """Reduce ``(n, bands, ...)`` (or ``(n, features)``) residual powers per band.

    Images get one value per band, feature vectors one for all features.
    """
    if values.ndim > 2:
        return values.transpose(0, 1).flatten(1).mean(dim=1)
    return values.mean().reshape(1)


def _broadcast_band(scale, like):
    """Shape a per-band ``scale`` to broadcast against ``like``."""
    if like.ndim > 2:
        return scale.view(1, -1, *([1] * (like.ndim - 2)))
    return scale.view(1, -1) if scale.numel() > 1 else scale.view(1, 1)


class Likelihood(nn.Module):
    """Base class of the decoder likelihoods.

    Subclasses set :attr:`error_metric` and implement :meth:`forward`.

    Parameters
    ----------
    n_bands : int, default=1
        Bands of the images (one noise scale each); 1 for feature vectors.
    """

    #: The error unit of the likelihood: ``"mse"`` (squared) or ``"mae"``.
    error_metric = "mse"

    def __init__(self, n_bands=1):
        super().__init__()
        self.n_bands = int(n_bands)

    def forward(self, x_hat, x):
        """Return the per-sample negative log-likelihood, shape ``(n,)``."""
        raise NotImplementedError

    def error(self, x_hat, x):
        """Per-sample summed error in this likelihood's unit: ``(n,)``."""
        return reconstruction_error(x_hat, x, self.error_metric)

    def noise_scale(self):
        """Return the per-band noise scale the likelihood uses now, or None."""
        return None


class SummedError(Likelihood):
    """The study's loss: squared (``"sse"``) or absolute (``"sae"``) error summed.

    Parameters
    ----------
    kind : {"mse", "mae"}, default="mse"
        Squared or absolute error.
    n_bands : int, default=1
        Unused; for a common signature.
    """

    def __init__(self, kind="mse", n_bands=1):
        super().__init__(n_bands)
        if kind not in ("mse", "mae"):
            raise ValueError(f"kind must be 'mse' or 'mae'; got {kind!r}.")
        self.error_metric = kind

    def forward(self, x_hat, x):
        """Return the summed error of each sample."""
        return self.error(x_hat, x)


class CalibratedLikelihood(Likelihood):
    """A Gaussian or Laplace decoder with a calibrated per-band noise scale.

    Parameters
    ----------
    family : {"gaussian", "laplace"}
        The residual's distribution.
    noise : "optimal", "learned", float or sequence of float
        ``"optimal"``: the batch's maximum-likelihood scale per band (RMS for
        Gaussian, mean absolute residual for Laplace), the sigma-VAE's closed
        form; ``"learned"``: a trained log-scale per band, started at the
        first batch's optimal value; a number (or one per band): a known
        noise scale in the units the network sees.
    n_bands : int, default=1
        Bands of the images; 1 for feature vectors.
    momentum : float, default=0.05
        Weight of a new batch in the running estimate of the optimal scale
        reported by :meth:`noise_scale`.
    """

    def __init__(self, family="gaussian", noise="optimal", n_bands=1, momentum=0.05):
        super().__init__(n_bands)
        if family not in ("gaussian", "laplace"):
            raise ValueError(f"family must be 'gaussian' or 'laplace'; got {family!r}.")
        self.family = family
        self.error_metric = "mse" if family == "gaussian" else "mae"
        self.noise = noise
        self.momentum = float(momentum)
        if isinstance(noise, str):
            if noise not in ("optimal", "learned"):
                raise ValueError(
                    f"noise must be 'optimal', 'learned' or a positive number; got "
                    f"{noise!r}."
                )
            fixed = torch.full((self.n_bands,), math.nan)
        else:
            fixed = torch.as_tensor(noise, dtype=torch.float32).reshape(-1)
            if fixed.numel() == 1:
                fixed = fixed.expand(self.n_bands).clone()
            if fixed.numel() != self.n_bands or not bool((fixed > 0).all()):
                raise ValueError(
                    f"noise must be a positive number or {self.n_bands} positive "
                    f"numbers (one per band); got {noise!r}."
                )
        # The scale in use: the running optimal estimate, or the known noise.
        self.register_buffer("scale", fixed)
        if noise == "learned":
            self.log_scale = nn.Parameter(torch.zeros(self.n_bands))
            self.register_buffer("started", torch.tensor(False))
        # Whether ``started`` has been read since it was last set or loaded:
        # reading it stops the device, so it is read once, not every batch.
        self._started_read = False

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._started_read = False

    def _power(self, residual):
        return residual.square() if self.family == "gaussian" else residual.abs()

    def _optimal_scale(self, residual):
        """Return the per-band maximum-likelihood scale of ``residual``.

        While training data-parallel, the batch is the global one: the
        processes' sums are added up first, so every process uses the scale
        one process would compute for the whole batch.
        """
        power = _per_band(self._power(residual.detach()))
        if self.training and data_parallel_rank() is not None:
            rows = power.new_full((1,), len(residual))  # no host-to-device copy
            totals = all_reduce_sum(torch.cat([power * rows, rows]))
            power = totals[:-1] / totals[-1]
        scale = power.sqrt() if self.family == "gaussian" else power
        return scale.clamp_min(MIN_NOISE)

    def _current_scale(self, residual):
        if self.noise == "optimal":
            scale = self._optimal_scale(residual)
            if self.training:
                with torch.no_grad():
                    running = torch.where(
                        torch.isnan(self.scale),
                        scale,
                        (1 - self.momentum) * self.scale + self.momentum * scale,
                    )
                    self.scale.copy_(running)
            return scale
        if self.noise == "learned":
            if self.training and not getattr(self, "_started_read", False):
                if not bool(self.started):
                    with torch.no_grad():  # start at the first batch's optimum
                        self.log_scale.copy_(self._optimal_scale(residual).log())
                        self.started.fill_(True)
                self._started_read = True
            return self.log_scale.exp().clamp_min(MIN_NOISE)
        return self.scale

    def forward(self, x_hat, x):
        """Return the per-sample negative log-likelihood (constants included)."""
        residual = _float_residual(x_hat, x)
        scale = self._current_scale(residual).to(residual.dtype)
        per_value = self._power(residual) / _broadcast_band(
            scale.square() if self.family == "gaussian" else scale, residual
        )
        values_per_band = residual[0].numel() / scale.numel()
        if self.family == "gaussian":
            nll = 0.5 * per_value.flatten(1).sum(dim=1)
            log_norm = values_per_band * (
                scale.log().sum() + 0.5 * math.log(2 * math.pi) * scale.numel()
            )
        else:
            nll = per_value.flatten(1).sum(dim=1)
            log_norm = values_per_band * (
                scale.log().sum() + math.log(2) * scale.numel()
            )
        return nll + log_norm

    def noise_scale(self):
        """Return the per-band noise scale (a running estimate for ``"optimal"``)."""
        scale = self.scale
        if self.noise == "learned":
            scale = self.log_scale.exp().clamp_min(MIN_NOISE)
        return scale.detach().cpu().numpy().copy()


def _sse(noise, n_bands):
    return SummedError("mse", n_bands)


def _sae(noise, n_bands):
    return SummedError("mae", n_bands)


def _gaussian(noise, n_bands):
    return CalibratedLikelihood("gaussian", noise, n_bands)


def _laplace(noise, n_bands):
    return CalibratedLikelihood("laplace", noise, n_bands)


#: Factories of the registered likelihoods: ``factory(noise, n_bands)``.
LIKELIHOODS = {"sse": _sse, "sae": _sae, "gaussian": _gaussian, "laplace": _laplace}


def make_likelihood(name, noise="optimal", n_bands=1):
    """Build the likelihood ``name`` (a key of :data:`LIKELIHOODS`).

    Parameters
    ----------
    name : str or Likelihood
        ``"sse"``, ``"sae"``, ``"gaussian"``, ``"laplace"`` or another key of
        :data:`LIKELIHOODS`; a :class:`Likelihood` instance is returned as it
        is.
    noise : "optimal", "learned", float or sequence of float, default="optimal"
        Noise of the calibrated likelihoods; ignored by the summed errors.
    n_bands : int, default=1
        Bands of the images, 1 for feature vectors.

    Returns
    -------
    Likelihood
    """
    if isinstance(name, Likelihood):
        return name
    if name not in LIKELIHOODS:
        raise ValueError(
            f"Unknown likelihood {name!r}; choose one of {sorted(LIKELIHOODS)}."
        )
    return LIKELIHOODS[name](noise, n_bands)


def check_noise(noise, n_bands, scale=1.0):
    """Validate ``noise`` and convert a known noise to the network's units.

    Parameters
    ----------
    noise : "optimal", "learned", float or sequence of float
        The estimator's parameter, known noise in the caller's pixel units.
    n_bands : int
        Bands of the images (1 for feature vectors).
    scale : float, default=1.0
        The estimator's ``pixel_scale_``: the network sees ``X / scale``.

    Returns
    -------
    str or tuple of float
    """
    if isinstance(noise, str):
        return noise
    values = [noise] if isinstance(noise, Real) else list(noise)
    if len(values) not in (1, n_bands) or not all(
        isinstance(v, Real) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ValueError(
            f"noise must be 'optimal', 'learned', a positive number or {n_bands} "
            f"positive numbers (one per band); got {noise!r}."
        )
    return tuple(float(v) / scale for v in values)
