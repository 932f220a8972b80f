"""Image stretches and per-band scaling, as scikit-learn transformers.

Galaxy images span orders of magnitude between a bright core and faint arms;
the study normalises each band of each cutout to [0, 1] and then applies a
midtone-transfer (MTF) stretch that lifts faint structure (the authors' code).
These transformers do that and the usual alternatives. They take image arrays
of shape (n, bands, h, w) or (n, h, w) and return float32 arrays of the same
shape, so they sit in a Pipeline in front of :class:`~skgalvae.VAETransformer`::

    make_pipeline(MTFStretch(), VAETransformer(n_latent=40))

:class:`CenterCrop` and :class:`Resize` bring cutouts of any size to the side a
model takes (a galaxy that fills the central third of a survey cutout is
cropped first, then shrunk without aliasing); they keep uint8 images uint8::

    make_pipeline(CenterCrop(141), Resize(64), VAETransformer(n_latent=40))

Given a lazy collection of files (:class:`~skgalvae.io.FITSDataset`, a list
of paths), they return a lazy :class:`~skgalvae.io.TransformedImages` that
transforms each batch as it is read, so the same Pipeline trains on a survey's
raw flux files without holding the survey in memory.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from astropy.visualization import AsinhStretch as _AstropyAsinh
from astropy.visualization import (
    BaseInterval,
    BaseStretch,
    LinearStretch,
    MinMaxInterval,
)
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .io._intake import check_samples
from .io._lazy import is_lazy
from .io._resize import resize_images
from .io._transformed import TransformedImages
from .utils._rows import evenly_spaced_rows
from .utils._units import UnitAsText, strip_unit

__all__ = [
    "AsinhStretch",
    "AstropyStretch",
    "BandScaler",
    "CenterCrop",
    "MTFStretch",
    "Resize",
    "midtone_transfer",
]

_CHUNK = 512  # images per chunk: bounds the float64 temporaries of quantiles


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


def _chunks(data, dtype):
    """Yield ``(start, chunk)``: ``data`` read as ``dtype`` arrays of ``_CHUNK`` images.

    ``data`` is an array or a lazy collection of files, read chunk by chunk.
    """
    for start in range(0, len(data), _CHUNK):
        yield start, np.asarray(data[start : start + _CHUNK], dtype=dtype)


class _ImageTransformer(UnitAsText, TransformerMixin, BaseEstimator):
    """Shared intake: image arrays in, float32 arrays of the same shape out."""

    def _images(self, X, *, reset):
        name = type(self).__name__
        X = strip_unit(self, X, reset=reset)
        samples = check_samples(X, values="finite", input_name="X", estimator_name=name)
        if not samples.is_image:
            raise ValueError(
                f"{name} works on images of shape (n, bands, h, w) or (n, h, w); "
                f"X has shape {tuple(samples.data.shape)}."
            )
        bands = samples.sample_shape[0]
        if reset:
            self.n_bands_in_ = bands
            self.sample_shape_in_ = tuple(samples.sample_shape)
        elif bands != self.n_bands_in_:
            raise ValueError(
                f"X has {bands} band(s), but {name} was fitted on "
                f"{self.n_bands_in_} band(s)."
            )
        data = samples.data
        if torch.is_tensor(data):
            data = data.detach().cpu().numpy()
        return data, samples.input_shape

    def _output_sample_shape(self):
        """``(bands, h, w)`` of one output image for the fit's input."""
        return self.sample_shape_in_

    def _output_dtype(self, input_dtype):
        """Return the data type of the output for input of ``input_dtype``."""
        return np.dtype(np.float32)

    def get_feature_names_out(self, input_features=None):
        """Return ``pixel0, pixel1, ...``: one name per output value.

        For a Pipeline's names, as its next step (a VAE) counts its inputs.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        n_values = int(np.prod(self._output_sample_shape()))
        return np.asarray([f"pixel{i}" for i in range(n_values)], dtype=object)

    def set_output(self, *, transform=None):
        """Accept a Pipeline's output container; images stay arrays.

        ``Pipeline(...).set_output(transform="pandas")`` sets every step:
        the VAE at its end then returns a DataFrame of latents, while images,
        which are not tables, pass between the steps as arrays.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            The container asked for.

        Returns
        -------
        self : object
        """
        if transform not in (None, "default", "pandas", "polars"):
            raise ValueError(
                f"transform must be 'default', 'pandas', 'polars' or None; got "
                f"{transform!r}."
            )
        return self

    def _transform_chunks(self, X, function, *, with_start=False):
        """Apply ``function`` to float64 chunks of (k, bands, h, w) images.

        With ``with_start``, it also gets the index of the chunk's first
        image (for messages that name an image).
        """
        check_is_fitted(self)
        data, input_shape = self._images(X, reset=False)
        if is_lazy(data):  # transformed batch by batch as it is read
            return TransformedImages(data, self)
        out = np.empty(data.shape, dtype=np.float32)
        for start, chunk in _chunks(data, np.float64):
            done = function(chunk, start) if with_start else function(chunk)
            out[start : start + _CHUNK] = done
        return out.reshape((len(out), *input_shape))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X`` and remember its number of bands.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w) or (n_samples, h, w)
            Images.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._images(X, reset=True)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _per_band_quantiles(images, q):
    """Quantiles of each band of each image: shape (len(q), k, bands, 1, 1)."""
    flat = images.reshape(images.shape[0], images.shape[1], -1)
    return np.quantile(flat, q, axis=-1)[..., None, None]


class BandScaler(_ImageTransformer):
    """Scale each band to [0, 1] by its minimum and maximum (or percentiles).

    The study normalises each band of each cutout by its own minimum and
    maximum (``scope="image"``); ``scope="dataset"`` learns one range per
    band from the training images instead, which keeps brightness
    differences between galaxies.

    Parameters
    ----------
    method : {"minmax", "percentile"}, default="minmax"
        Range from the extremes, or from ``percentiles`` (robust to hot pixels
        and stars).
    percentiles : tuple of float, default=(1.0, 99.0)
        Lower and upper percentile for ``method="percentile"``.
    scope : {"image", "dataset"}, default="image"
        Range per image and band, or per band over the training set.
    clip : bool, default=False
        Clip the result to [0, 1]. Percentile scaling otherwise maps values
        outside the range outside [0, 1]; nothing is clipped unless asked.
    subsample : int or None, default=2000
        For ``scope="dataset"`` with ``method="percentile"``: take the
        percentiles over at most this many images, evenly spaced through
        ``X`` (a survey's files are not all read to learn three numbers per
        band); None uses every image. ``"minmax"`` always reads every image,
        in chunks.

    Attributes
    ----------
    n_bands_in_ : int
        Number of bands seen in fit.
    sample_shape_in_ : tuple of int
        ``(bands, h, w)`` of the images seen by ``fit``.
    input_unit_ : astropy.units.Unit or None
        Unit of ``X`` when fitted on an astropy ``Quantity`` (later data is
        converted to it; the output has no unit), else None.
    scope_ : {"image", "dataset"}
        The ``scope`` fitted with; :meth:`transform` uses it (a ``scope``
        set after the fit takes effect at the next fit).
    quantiles_ : ndarray of shape (2,)
        The quantiles of the range (0 and 1 for ``"minmax"``), fitted like
        ``scope_``.
    low_, high_ : ndarray of shape (n_bands,)
        Per-band range, for ``scope="dataset"`` only.

    Notes
    -----
    A band whose range is empty (a constant band) is mapped to 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.preprocessing import BandScaler
    >>> X = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    >>> Xt = BandScaler().fit_transform(X)
    >>> float(Xt.min()), float(Xt.max()), Xt.dtype
    (0.0, 1.0, dtype('float32'))
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"minmax", "percentile"})],
        "percentiles": [tuple, list],
        "scope": [StrOptions({"image", "dataset"})],
        "clip": ["boolean"],
        "subsample": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        method="minmax",
        percentiles=(1.0, 99.0),
        scope="image",
        clip=False,
        subsample=2000,
    ):
        self.method = method
        self.percentiles = percentiles
        self.scope = scope
        self.clip = clip
        self.subsample = subsample

    def _quantiles(self):
        if self.method == "minmax":
            return np.array([0.0, 1.0])
        low, high = (float(p) for p in self.percentiles)
        if not 0 <= low < high <= 100:
            raise ValueError(
                f"percentiles must be (low, high) with 0 <= low < high <= 100; got "
                f"{tuple(self.percentiles)}."
            )
        return np.array([low, high]) / 100

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X``; for ``scope="dataset"``, learn each band's range.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w) or (n_samples, h, w)
            Training images.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted scaler.
        """
        data, _ = self._images(X, reset=True)
        q = self._quantiles()
        self.scope_, self.quantiles_ = self.scope, q
        if self.scope == "dataset":
            self.low_, self.high_ = self._dataset_range(data, q)
        return self

    def _dataset_range(self, data, q):
        """Per-band range over ``data``, read in chunks (files never whole)."""
        if self.method == "minmax":  # exact, in one streamed pass
            low = np.full(self.n_bands_in_, np.inf)
            high = np.full(self.n_bands_in_, -np.inf)
            for _, chunk in _chunks(data, np.float64):
                chunk = chunk.reshape(len(chunk), self.n_bands_in_, -1)
                low = np.minimum(low, chunk.min(axis=(0, 2)))
                high = np.maximum(high, chunk.max(axis=(0, 2)))
            return low, high
        n_images = len(data) if self.subsample is None else self.subsample
        rows = evenly_spaced_rows(len(data), n_images)
        sample = np.asarray(
            data.read(rows) if is_lazy(data) else data[rows], dtype=np.float64
        )
        per_band = np.moveaxis(sample, 1, 0).reshape(self.n_bands_in_, -1)
        return np.quantile(per_band, q, axis=1)

    def transform(self, X):
        """Scale ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w) or (n_samples, h, w)
            Images with the fit's number of bands.

        Returns
        -------
        ndarray or TransformedImages of the same shape, float32
            Scaled images.
            A lazy ``X`` (files) gives a lazy collection that transforms
            each batch as it is read.
        """
        check_is_fitted(self, "scope_")
        q = self.quantiles_

        def scale(chunk):
            if self.scope_ == "dataset":
                low = self.low_[None, :, None, None]
                high = self.high_[None, :, None, None]
            else:
                low, high = _per_band_quantiles(chunk, q)
            span = high - low
            out = np.divide(chunk - low, span, out=np.zeros_like(chunk), where=span > 0)
            return np.clip(out, 0.0, 1.0) if self.clip else out

        return self._transform_chunks(X, scale)


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


class _SideTransformer(_ImageTransformer):
    """Shared intake of :class:`CenterCrop` and :class:`Resize`: a new side."""

    #: How ``resize_images`` reaches the side.
    _method = "crop"

    def transform(self, X):
        """Return the images at ``size x size`` pixels, in their own dtype.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w) or (n_samples, h, w)
            Images.

        Returns
        -------
        ndarray or TransformedImages
            Shape (n_samples, bands, size, size) or (n_samples, size, size);
            uint8 images stay uint8, other images become float32. A lazy
            ``X`` (files) gives a lazy collection that crops or resamples
            each batch as it is read.
        """
        check_is_fitted(self)
        data, input_shape = self._images(X, reset=False)
        if is_lazy(data):  # cropped or resampled batch by batch as it is read
            return TransformedImages(data, self)
        dtype = self._output_dtype(data.dtype)
        out = np.empty((len(data), data.shape[1], self.size, self.size), dtype)
        for start, chunk in _chunks(data, dtype):
            resized = resize_images(chunk, self.size, self._method, "X")
            out[start : start + _CHUNK] = resized
        return out.reshape((len(out), *input_shape[:-2], self.size, self.size))

    def _output_sample_shape(self):
        return (self.n_bands_in_, self.size, self.size)

    def _output_dtype(self, input_dtype):
        return np.dtype(np.uint8 if input_dtype == np.uint8 else np.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32", "uint8"]
        return tags


class CenterCrop(_SideTransformer):
    """Keep the central ``size x size`` pixels of each image.

    Survey cutouts are often much larger than the galaxy (Galaxy Zoo's SDSS
    cutouts show the galaxy in their central third): cropping first spends the
    model's pixels on the galaxy.

    Parameters
    ----------
    size : int, default=64
        Side of the crop, in pixels; the images must be at least this large.

    Attributes
    ----------
    n_bands_in_ : int
        Bands of the images seen by ``fit``.
    sample_shape_in_ : tuple of int
        ``(bands, h, w)`` of the images seen by ``fit``.

    See Also
    --------
    Resize : Resample to a side instead.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.preprocessing import CenterCrop
    >>> X = np.arange(2 * 3 * 6 * 6, dtype=np.uint8).reshape(2, 3, 6, 6)
    >>> crop = CenterCrop(2).fit_transform(X)
    >>> crop.shape, crop.dtype
    ((2, 3, 2, 2), dtype('uint8'))
    >>> crop[0, 0]
    array([[14, 15],
           [20, 21]], dtype=uint8)
    """

    _parameter_constraints: dict = {
        "size": [Interval(Integral, 1, None, closed="left")]
    }

    def __init__(self, size: int = 64):
        self.size = size

    def _images(self, X, *, reset):
        data, input_shape = super()._images(X, reset=reset)
        height, width = data.shape[-2:]
        if min(height, width) < self.size:
            raise ValueError(
                f"X holds {height}x{width} images, smaller than CenterCrop's "
                f"size={self.size}; a crop cannot enlarge them. Use Resize to "
                f"resample them, or a smaller size."
            )
        return data, input_shape


class Resize(_SideTransformer):
    """Resample each image to ``size x size`` pixels, without aliasing.

    ``"area"`` averages the input pixels under each output pixel (the
    surface brightness is kept and nothing aliases, whatever the factor);
    ``"bilinear"`` interpolates, with an anti-aliasing filter when shrinking.

    Parameters
    ----------
    size : int, default=64
        Output side, in pixels.
    method : {"area", "bilinear"}, default="area"
        How to resample.

    Attributes
    ----------
    n_bands_in_ : int
        Bands of the images seen by ``fit``.
    sample_shape_in_ : tuple of int
        ``(bands, h, w)`` of the images seen by ``fit``.

    See Also
    --------
    CenterCrop : Crop to a side instead.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.preprocessing import Resize
    >>> X = np.zeros((2, 3, 424, 424), dtype=np.float32)
    >>> Resize(64).fit_transform(X).shape
    (2, 3, 64, 64)
    """

    _parameter_constraints: dict = {
        "size": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"area", "bilinear"})],
    }

    def __init__(self, size: int = 64, method: str = "area"):
        self.size = size
        self.method = method

    @property
    def _method(self):
        return self.method
