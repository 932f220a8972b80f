"""Reconstruction diagnostics: periodic decoder artefacts and band flux."""

from __future__ import annotations

import numpy as np

from ..utils._units import refuse_quantity


def _image_stacks(X, X_reconstructed, caller):
    refuse_quantity(X, "X", caller)
    refuse_quantity(X_reconstructed, "X_reconstructed", caller)
    X = np.asarray(X, dtype=np.float64)
    X_reconstructed = np.asarray(X_reconstructed, dtype=np.float64)
    if X.shape != X_reconstructed.shape or X.ndim not in (3, 4):
        raise ValueError(
            f"X and X_reconstructed must be image stacks of one shape, (n, bands, "
            f"h, w) or (n, h, w); got {X.shape} and {X_reconstructed.shape}."
        )
    if X.ndim == 3:
        X, X_reconstructed = X[:, None], X_reconstructed[:, None]
    return X, X_reconstructed


def periodic_artifact_power(X, X_reconstructed, periods=(2, 4, 8)):
    """How far a grid pattern stands out in the reconstructions' residuals.

    Decoders that upsample with transposed convolutions whose kernel is not
    divisible by their stride draw a checkerboard (Odena et al. 2016);
    nearest-neighbour upsampling can leave a 2-pixel parity. Such a grid puts
    power into the residual ``X_reconstructed - X`` at the spatial
    frequencies of its period, while a clean decoder's residual (noise and
    missed detail) has a smooth power spectrum. The score is, for each period
    ``p``, the largest power of the mean residual power spectrum (over images,
    per band) at the frequencies ``(side/p, 0)``, ``(0, side/p)`` and
    ``(side/p, side/p)``, over the median power of the other frequencies at
    the same distance from the origin (within one frequency step). About 1
    means no spike; PCA's linear reconstructions of galaxy cutouts give 1-3,
    a visible checkerboard 10 and more.

    Parameters
    ----------
    X : array-like of shape (n, bands, h, w) or (n, h, w)
        Square images.
    X_reconstructed : array-like of the same shape
        Their reconstructions.
    periods : sequence of int, default=(2, 4, 8)
        Pattern periods in pixels, each dividing the image side.

    Returns
    -------
    dict
        ``{period: ratio}``, the largest over bands and the three frequencies.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.metrics import periodic_artifact_power
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((50, 1, 32, 32))
    >>> noise = 0.1 * rng.standard_normal(X.shape)
    >>> grid = np.indices((32, 32)).sum(axis=0) % 2 * 0.05
    >>> round(periodic_artifact_power(X, X + noise)[2])
    1
    >>> periodic_artifact_power(X, X + noise + grid)[2] > 10
    True
    """
    X, X_reconstructed = _image_stacks(X, X_reconstructed, "periodic_artifact_power")
    side = X.shape[-1]
    if X.shape[-2] != side:
        raise ValueError(f"Images must be square; got {X.shape[-2]}x{side}.")
    residual = X_reconstructed - X
    power = (np.abs(np.fft.fft2(residual)) ** 2).mean(axis=0)  # (bands, h, w)
    # Signed frequencies, so that the radius of (k, side - 1) is ~k, not ~side.
    freq = np.fft.fftfreq(side) * side
    radius = np.hypot(freq[:, None], freq[None, :])
    scores = {}
    for period in periods:
        if side % period:
            raise ValueError(f"Period {period} does not divide the image side {side}.")
        k = side // period
        spikes = [(k, 0), (0, k), (k, k)]
        ratios = []
        for row, col in spikes:
            ring = np.abs(radius - radius[row, col]) <= 1.0
            for r, c in spikes:
                ring[r, c] = False
            reference = np.median(power[:, ring], axis=1)
            reference = np.maximum(reference, np.finfo(float).tiny)
            ratios.append(power[:, row, col] / reference)
        scores[period] = float(np.max(ratios))
    return scores


def band_flux_ratio(X, X_reconstructed):
    """Mean flux of the reconstructions over that of the images, per band.

    A decoder that loses colour reconstructs one band brighter or fainter
    than it is; 1 everywhere means the bands' mean fluxes are kept.

    Parameters
    ----------
    X : array-like of shape (n, bands, h, w) or (n, h, w)
        Images (in linear, non-negative units for a ratio that means flux).
    X_reconstructed : array-like of the same shape
        Their reconstructions.

    Returns
    -------
    ndarray of shape (bands,)

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.metrics import band_flux_ratio
    >>> X = np.ones((4, 3, 8, 8))
    >>> band_flux_ratio(X, X * [[[[1.0]], [[0.5]], [[1.1]]]])
    array([1. , 0.5, 1.1])
    """
    X, X_reconstructed = _image_stacks(X, X_reconstructed, "band_flux_ratio")
    original = X.mean(axis=(0, 2, 3))
    if np.any(original == 0):
        band = int(np.flatnonzero(original == 0)[0])
        raise ValueError(f"Band {band} of X has a mean flux of 0; no ratio exists.")
    return X_reconstructed.mean(axis=(0, 2, 3)) / original
