"""The base of the image transformers: intake, chunks, output."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ..io._intake import check_samples
from ..io._lazy import is_lazy
from ..io._transformed import TransformedImages
from ..utils._units import UnitAsText, strip_unit

_CHUNK = 512  # images per chunk: bounds the float64 temporaries of quantiles


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
