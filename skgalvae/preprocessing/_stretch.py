"""Stretches: the study's midtone transfer, asinh, and astropy's."""

from __future__ import annotations

from numbers import Real

import numpy as np
from astropy.visualization import AsinhStretch as _AstropyAsinh
from astropy.visualization import (
    BaseInterval,
    BaseStretch,
    LinearStretch,
    MinMaxInterval,
)
from sklearn.utils._param_validation import Interval

from ._base import _ImageTransformer, _per_band_quantiles


def midtone_transfer(m, x):
    """Apply the midtone transfer function ``(m - 1) x / ((2m - 1) x - m)``.

    It maps 0 to 0, 1 to 1 and ``m`` to 1/2; ``m = 1/2`` is the identity and
    ``MTF(MTF(t, x0), x0) = t``, which is how a stretch that sends ``x0`` to
    ``t`` is found.

    Parameters
    ----------
    m : float or ndarray
        Midtone balance in (0, 1).
    x : float or ndarray
        Values in [0, 1].

    Returns
    -------
    float or ndarray
        Stretched values in [0, 1].

    Examples
    --------
    >>> from skgalvae.preprocessing import midtone_transfer
    >>> m = midtone_transfer(0.125, 0.02)   # the balance that sends 0.02 to 1/8
    >>> round(float(midtone_transfer(m, 0.02)), 6)
    0.125
    """
    return (m - 1) * x / ((2 * m - 1) * x - m)


class AsinhStretch(_ImageTransformer):
    """The asinh stretch ``y = asinh(x / a) / asinh(1 / a)`` (Lupton et al. 1999).

    Linear for faint values, logarithmic for bright ones. It expects values
    normalised to about [0, 1], e.g. by :class:`BandScaler`, and maps 0 to 0
    and 1 to 1; it is astropy's ``astropy.visualization.AsinhStretch``
    applied to every pixel.

    Parameters
    ----------
    a : float, default=0.1
        Where the stretch turns from linear to logarithmic; smaller lifts
        faint structure more.

    Attributes
    ----------
    n_bands_in_ : int
        Number of bands seen in fit.
    sample_shape_in_ : tuple of int
        ``(bands, h, w)`` of the images seen by ``fit``.
    input_unit_ : astropy.units.Unit or None
        Unit of ``X`` when fitted on an astropy ``Quantity`` (later data is
        converted to it; the output has no unit), else None.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.preprocessing import AsinhStretch
    >>> X = np.array([0.0, 0.01, 1.0], dtype=np.float32).reshape(1, 1, 1, 3)
    >>> [round(float(v), 3) for v in AsinhStretch(a=0.1).fit_transform(X).ravel()]
    [0.0, 0.033, 1.0]
    """

    _parameter_constraints: dict = {
        "a": [Interval(Real, 0, 1, closed="right")],
    }

    def __init__(self, a=0.1):
        self.a = a

    def transform(self, X):
        """Stretch ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w) or (n_samples, h, w)
            Images, normalised to about [0, 1].

        Returns
        -------
        ndarray or TransformedImages of the same shape, float32
            Stretched images; values outside [0, 1] are stretched, not clipped.
            A lazy ``X`` (files) gives a lazy collection that transforms
            each batch as it is read.
        """
        stretch = _AstropyAsinh(a=self.a)
        return self._transform_chunks(X, lambda chunk: stretch(chunk, clip=False))


class MTFStretch(_ImageTransformer):
    """The study's midtone-transfer stretch: faint structure made visible.

    For each band of each image (the authors' code): clip the darkest
    ``shadow_clip`` fraction of the pixels, rescale so that the clipping point
    is 0 and the maximum 1, then apply the midtone transfer function
    :func:`midtone_transfer` with the balance that puts the band's median at
    ``target_median``.

    Parameters
    ----------
    shadow_clip : float, default=0.001
        Fraction of darkest pixels set to 0 (the study: 0.1%).
    target_median : float, default=0.125
        Where the median lands after the stretch (the study: 1/8).

    Attributes
    ----------
    n_bands_in_ : int
        Number of bands seen in fit.
    sample_shape_in_ : tuple of int
        ``(bands, h, w)`` of the images seen by ``fit``.
    input_unit_ : astropy.units.Unit or None
        Unit of ``X`` when fitted on an astropy ``Quantity`` (later data is
        converted to it; the output has no unit), else None.

    Notes
    -----
    The shadow clip is part of the stretch and documented, not a silent
    clip. A band that is constant maps to 0; a band whose median equals its
    shadow level (mostly masked) is rescaled but not stretched.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.preprocessing import MTFStretch
    >>> rng = np.random.default_rng(0)
    >>> X = rng.exponential(size=(4, 3, 32, 32)).astype(np.float32) ** 3
    >>> Xt = MTFStretch().fit_transform(X)
    >>> float(np.median(Xt[0, 0])).__round__(3), float(Xt.min()), float(Xt.max())
    (0.125, 0.0, 1.0)
    """

    _parameter_constraints: dict = {
        "shadow_clip": [Interval(Real, 0, 0.5, closed="left")],
        "target_median": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(self, shadow_clip=0.001, target_median=0.125):
        self.shadow_clip = shadow_clip
        self.target_median = target_median

    def transform(self, X):
        """Stretch ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w) or (n_samples, h, w)
            Images in any linear units.

        Returns
        -------
        ndarray or TransformedImages of the same shape, float32
            Stretched images in [0, 1].
            A lazy ``X`` (files) gives a lazy collection that transforms
            each batch as it is read.
        """
        q = np.array([self.shadow_clip, 0.5, 1.0])

        def stretch(chunk):
            shadow, median, high = _per_band_quantiles(chunk, q)
            span = high - shadow
            scaled = np.divide(
                chunk - shadow, span, out=np.zeros_like(chunk), where=span > 0
            )
            scaled = np.clip(scaled, 0.0, 1.0)  # the shadow clip
            median = np.divide(
                median - shadow, span, out=np.zeros_like(median), where=span > 0
            )
            usable = (median > 0) & (median < 1)
            balance = np.where(
                usable,
                midtone_transfer(self.target_median, np.where(usable, median, 0.5)),
                0.5,  # MTF(1/2, x) = x: rescale only
            )
            return midtone_transfer(balance, scaled)

        return self._transform_chunks(X, stretch)


class AstropyStretch(_ImageTransformer):
    """Any astropy stretch after any astropy interval, per band of each image.

    The display normalisation of :class:`astropy.visualization.ImageNormalize`
    as a Pipeline step: for each band of each image, ``interval`` finds the
    limits (ZScale, a percentile, min-max, fixed values), the band is mapped
    to [0, 1] between them, and ``stretch`` (log, sqrt, asinh, power, ...) is
    applied.

    Parameters
    ----------
    stretch : astropy.visualization.BaseStretch or None, default=None
        E.g. ``LogStretch()``, ``SqrtStretch()``, ``AsinhStretch(0.05)``;
        None is linear.
    interval : astropy.visualization.BaseInterval or None, default=None
        E.g. ``ZScaleInterval()``, ``PercentileInterval(99.5)``,
        ``MinMaxInterval()``, ``ManualInterval(0, 10)``; None is min-max.
        Evaluated on each band of each image separately.
    clip : bool, default=True
        Values outside the interval are set to its limits before the stretch
        (astropy's ``clip=True``: some stretches, like log and sqrt, are not
        defined below 0). False passes them through the stretch.

    Attributes
    ----------
    n_bands_in_ : int
        Number of bands seen in fit.
    sample_shape_in_ : tuple of int
        ``(bands, h, w)`` of the images seen by ``fit``.
    input_unit_ : astropy.units.Unit or None
        Unit of ``X`` when fitted on an astropy ``Quantity`` (later data is
        converted to it; the output has no unit), else None.

    See Also
    --------
    MTFStretch : The study's stretch.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.visualization import PercentileInterval, SqrtStretch
    >>> from skgalvae.preprocessing import AstropyStretch
    >>> X = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> step = AstropyStretch(SqrtStretch(), PercentileInterval(100))
    >>> [round(float(v), 3) for v in step.fit_transform(X).ravel()[[0, 3, 15]]]
    [0.0, 0.447, 1.0]
    """

    _parameter_constraints: dict = {
        "stretch": [None, BaseStretch],
        "interval": [None, BaseInterval],
        "clip": ["boolean"],
    }

    def __init__(self, stretch=None, interval=None, clip=True):
        self.stretch = stretch
        self.interval = interval
        self.clip = clip

    def _steps(self):
        stretch = LinearStretch() if self.stretch is None else self.stretch
        interval = MinMaxInterval() if self.interval is None else self.interval
        return stretch, interval

    def transform(self, X):
        """Normalise each band of each image to its interval, then stretch it.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w) or (n_samples, h, w)
            Images with the fit's number of bands.

        Returns
        -------
        ndarray or TransformedImages of the same shape, float32
            In [0, 1] with ``clip=True``.
            A lazy ``X`` (files) gives a lazy collection that transforms
            each batch as it is read.
        """
        stretch, interval = self._steps()

        def normalise(chunk, start):
            out = np.empty_like(chunk)
            for image in range(len(chunk)):
                for band in range(chunk.shape[1]):
                    values = chunk[image, band]
                    low, high = interval.get_limits(values)
                    where = f"image {start + image}, band {band}"
                    if low > high:
                        raise ValueError(
                            f"interval gives limits ({low:.4g}, {high:.4g}) for "
                            f"{where}: the lower above the upper. Give the interval "
                            f"its limits in increasing order."
                        )
                    scaled = (values - low) / (high - low) if high > low else values * 0
                    if self.clip:
                        scaled = np.clip(scaled, 0.0, 1.0)
                    stretched = stretch(scaled, clip=False)
                    if not np.isfinite(stretched).all():
                        bad = int((~np.isfinite(stretched)).sum())
                        raise ValueError(
                            f"The stretch gives NaN or inf for {bad} pixels of "
                            f"{where}: with clip=False, values outside the "
                            f"interval reach it, and {type(stretch).__name__} is "
                            f"not defined for all of them. Use clip=True, or an "
                            f"interval that holds every value."
                        )
                    out[image, band] = stretched
            return out

        return self._transform_chunks(X, normalise, with_start=True)
