"""Bringing cutouts to a model's side: centre crops and resampling."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..io._lazy import is_lazy
from ..io._resize import resize_images
from ..io._transformed import TransformedImages
from ._base import _CHUNK, _chunks, _ImageTransformer


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
