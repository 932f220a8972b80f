"""Per-band scaling of images to [0, 1]."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..io._lazy import is_lazy
from ..utils._rows import evenly_spaced_rows
from ._base import _chunks, _ImageTransformer, _per_band_quantiles


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
