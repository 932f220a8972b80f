"""Inference of the fitted VAE estimators: encode, decode, reconstruct, score."""

from __future__ import annotations

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils.validation import check_is_fitted

from ..io._intake import check_samples
from ..nn import reconstruction_error
from ..nn.ssim import ssim
from ..utils._progress import progress
from ..utils._units import with_unit


class InferenceMixin(TransformerMixin):
    """Encode, decode, reconstruct, sample and score with the fitted net.

    Mixed into :class:`~skgalvae.vae._base.BaseVAE`. A ``TransformerMixin``
    itself, because scikit-learn wraps ``transform`` for ``set_output`` only
    in the class that defines it.
    """

    # ---------------------------------------------------------------- inference
    def _batches(self, iterator, n_samples, desc):
        """Wrap a batch iterator in a progress bar when ``verbose`` asks for it."""
        n_batches = -(-n_samples // self._inference_batch_size)
        if self.verbose and n_batches > 1:
            return progress(
                iterator, total=n_batches, desc=desc, unit="batch", leave=False
            )
        return iterator

    def _encode(self, X, input_name="X"):
        check_is_fitted(self)
        samples = self._read_samples(X, reset=False, input_name=input_name)
        return self._encode_data(samples.data)

    def _encode_data(self, data, **encode_params):
        """Return ``(mu, logvar)`` of validated samples ``data``.

        ``encode_params`` go to the module's ``encode`` (e.g. ``domain``).
        """
        dataset = self._dataset(data)
        batches = self.net_.encode_iter(
            dataset, batch_size=self._inference_batch_size, **encode_params
        )
        mus, logvars = collect_rows(
            self._batches(batches, len(dataset), "encode"), len(dataset)
        )
        return mus, logvars

    def transform(self, X):
        """Encode ``X`` to the posterior means ``mu``.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to encode.

        Returns
        -------
        ndarray of shape (n_samples, n_latent), dtype float32
            Latent means, the features used downstream.
        """
        return self._encode(X)[0]

    def transform_std(self, X):
        """Return the posterior standard deviations ``sigma`` of ``X``.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to encode.

        Returns
        -------
        ndarray of shape (n_samples, n_latent), dtype float32
            ``exp(logvar / 2)`` of the approximate posterior; follows
            ``set_output`` like :meth:`transform`.
        """
        _, logvar = self._encode(X)
        sigma = np.exp(0.5 * logvar, dtype=np.float32)
        return _wrap_data_with_container("transform", sigma, X, self)

    def _to_output(self, decoded_batches, n_rows, input_shape):
        """Gather decoded device batches in the caller's units and layout."""
        (x_hat,) = collect_rows(((x,) for x in decoded_batches), n_rows)
        x_hat *= np.float32(self.pixel_scale_)
        return with_unit(self, x_hat.reshape((n_rows, *input_shape)))

    def _reconstruction_batches(self, X, desc, **decode_params):
        """Validate ``X``; return it and an iterator of ``(x, x_hat)`` batches.

        ``decode_params`` go to the module's ``decode`` (e.g. ``domain``).
        """
        check_is_fitted(self)
        samples = self._read_samples(X, reset=False)
        batches = self.net_.reconstruct_iter(
            self._dataset(samples.data), self._inference_batch_size, **decode_params
        )
        return samples, self._batches(batches, len(samples.data), desc)

    def inverse_transform(self, X):
        """Decode latent vectors to samples in the fit's input layout.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent)
            Latent vectors, e.g. from :meth:`transform`.

        Returns
        -------
        ndarray of shape ``(n_samples, *input_shape_)``, dtype float32
            Decoded samples, in the units and layout of the training data.
        """
        return self._decode(X)

    def _decode(self, X, **decode_params):
        check_is_fitted(self)
        z = self._check_latents(X)
        decoded = self.net_.decode_iter(z, self._inference_batch_size, **decode_params)
        return self._to_output(decoded, len(z), self.input_shape_)

    def _check_latents(self, Z, input_name="X"):
        name = type(self).__name__
        Z = self._latent_columns_in_order(Z, input_name)
        samples = check_samples(Z, input_name=input_name, estimator_name=name)
        if samples.data.ndim != 2 or samples.data.shape[1] != self.n_latent_:
            raise ValueError(
                f"{input_name} must be latent vectors of shape (n_samples, "
                f"{self.n_latent_}) for {name} with n_latent_={self.n_latent_}; got "
                f"shape {samples.data.shape}."
            )
        return np.asarray(samples.data, dtype=np.float32)

    def _latent_columns_in_order(self, Z, input_name):
        """Put a DataFrame's latent columns in the order of the features.

        Decoding by position would swap latents whose columns were reordered
        (a join, a selection); columns that are not this model's latents are
        refused by name. Unnamed columns (0, 1, ...) are taken by position.
        """
        if not hasattr(Z, "columns") or not hasattr(Z, "loc"):
            return Z
        if list(Z.columns) == list(range(Z.shape[1])):
            return Z
        names = list(self.get_feature_names_out())
        columns = [str(c) for c in Z.columns]
        if columns == names:
            return Z
        missing = [n for n in names if n not in columns]
        extra = [c for c in columns if c not in names]
        if missing or extra:
            raise ValueError(
                f"{input_name}'s columns {columns[:4]}{'...' * (len(columns) > 4)} "
                f"are not this model's latents {names[:4]}"
                f"{'...' * (len(names) > 4)}: missing {missing[:3]}, unexpected "
                f"{extra[:3]}. Pass the columns transform returned."
            )
        return Z[names]

    def reconstruct(self, X):
        """Encode ``X`` and decode its posterior means.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to reconstruct.

        Returns
        -------
        ndarray, same shape as ``X``, dtype float32
            Reconstructions in ``X``'s units and layout.
        """
        return self._reconstruct(X)

    def _reconstruct(self, X, **decode_params):
        samples, batches = self._reconstruction_batches(
            X, "reconstruct", **decode_params
        )
        return self._to_output(
            (x_hat for _, x_hat in batches), len(samples.data), samples.input_shape
        )

    def pose(self, X):
        """Return how each image lies relative to the decoder's drawing of it.

        With ``invariance="dihedral"`` the decoder draws each galaxy in a pose
        of its own choosing, so the latents leave the orientation out; this
        gives it back. Pose ``p`` mirrors the image left-right when
        ``p >= 4``, then turns it ``p % 4`` quarter turns anticlockwise
        (:data:`skgalvae.nn.pose.POSE_NAMES`): applied to the image, it gives
        the pose that best matches the reconstruction that
        :meth:`inverse_transform` draws from the image's latents. Without
        invariance that is almost always pose 0.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, side, side)
            Square images.

        Returns
        -------
        ndarray of shape (n_samples,), dtype int64
            Poses 0-7.
        """
        check_is_fitted(self)
        if not self._is_image:
            raise ValueError(
                f"{type(self).__name__}.pose needs a model of images; this one was "
                f"fitted on feature vectors."
            )
        samples = self._read_samples(X, reset=False)
        batches = self.net_.pose_iter(
            self._dataset(samples.data), self._inference_batch_size
        )
        (poses,) = collect_rows(
            ((p,) for p in self._batches(batches, len(samples.data), "pose")),
            len(samples.data),
        )
        return poses.astype(np.int64)

    def sample(self, n_samples=1, random_state=None):
        """Decode draws from the prior ``N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the latent draws.

        Returns
        -------
        ndarray of shape ``(n_samples, *input_shape_)``, dtype float32
            Generated samples in the training data's units and layout.
        """
        return self._sample(n_samples, random_state)

    @staticmethod
    def _check_n_samples(n_samples):
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")

    def _sample(self, n_samples, random_state, **decode_params):
        check_is_fitted(self)
        self._check_n_samples(n_samples)
        rng = check_random_state(random_state)
        z = rng.standard_normal((n_samples, self.n_latent_)).astype(np.float32)
        return self._decode(z, **decode_params)

    def score_samples_ssim(self, X):
        """Return the SSIM between each image of ``X`` and its reconstruction.

        Parameters
        ----------
        X : array-like of images
            Images of the fit's shape.

        Returns
        -------
        ndarray of shape (n_samples,), dtype float32
            Per-image SSIM (Wang et al. 2004, Gaussian window, ``data_range_``).
        """
        return self._score_samples_ssim(X)

    def _score_samples_ssim(self, X, **decode_params):
        check_is_fitted(self)
        if not self._is_image:
            raise ValueError(
                f"{type(self).__name__} was fitted on feature vectors, not images; "
                f"SSIM needs images."
            )
        samples, batches = self._reconstruction_batches(X, "ssim", **decode_params)
        data_range = self.data_range_ / self.pixel_scale_
        scores = ((ssim(x, x_hat, data_range=data_range),) for x, x_hat in batches)
        return collect_rows(scores, len(samples.data))[0]

    def reconstruction_error(self, X, metric: str = "mse"):
        """Return how badly each sample of ``X`` is reconstructed.

        Defects and contaminants the VAE has rarely seen reconstruct badly,
        so this is an outlier score in its own right
        (:class:`~skgalvae.ReconstructionOutlierDetector`).

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to reconstruct.
        metric : {"mse", "mae", "ssim"}, default="mse"
            ``"mse"`` and ``"mae"``: the mean squared or absolute difference
            per value, in ``X``'s units. ``"ssim"``: ``1 - SSIM`` (images
            only), which weighs structure over flux.

        Returns
        -------
        ndarray of shape (n_samples,), dtype float64
            Larger is worse.
        """
        return self._reconstruction_error(X, metric)

    def _reconstruction_error(self, X, metric, **decode_params):
        if metric == "ssim":
            return 1.0 - self._score_samples_ssim(X, **decode_params).astype(np.float64)
        if metric not in ("mse", "mae"):
            raise ValueError(f"metric must be 'mse', 'mae' or 'ssim'; got {metric!r}.")
        samples, batches = self._reconstruction_batches(X, "error", **decode_params)
        # Summed in float64, so that a sample's error does not depend on the
        # batch it came in.
        errors = (
            (reconstruction_error(x_hat.double(), x.double(), metric),)
            for x, x_hat in batches
        )
        (errors,) = collect_rows(errors, len(samples.data))
        # Back to the caller's units: the net sees X / pixel_scale_.
        unit = self.pixel_scale_ ** (2 if metric == "mse" else 1)
        return errors * (unit / self.n_features_in_)

    @staticmethod
    def _reconstruction_r2(batches):
        """``1 - SSE / SST`` over all features of ``(x, x_hat)`` batches."""
        sse = total = total_sq = 0.0
        count = 0
        for x, x_hat in batches:
            x = x.double()
            sse += float((x - x_hat.double()).square().sum())
            total = total + x.sum(dim=0)
            total_sq = total_sq + x.square().sum(dim=0)
            count += len(x)
        sst = float((total_sq - total.square() / count).sum())
        if not sst > 0:
            raise ValueError(
                f"score is the R^2 of the reconstruction, which is undefined for "
                f"samples that do not vary ({count} sample(s), all the same): "
                f"give at least two different samples, or use "
                f"reconstruction_error for each one."
            )
        return 1.0 - sse / sst

    def score(self, X, y=None):
        """Return the mean reconstruction quality of ``X``; higher is better.

        For images this is the mean SSIM between each image and its
        reconstruction, which lets ``GridSearchCV`` tune ``n_latent`` without
        labels. For feature vectors it is the coefficient of determination
        ``R^2`` of the reconstruction (``1 - SSE / SST`` over all features).

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to reconstruct.
        y : None
            Ignored.

        Returns
        -------
        float
        """
        _, batches = self._reconstruction_batches(X, "score")
        return self._score_of(batches)

    def _score_of(self, batches):
        """Mean SSIM (images) or ``R^2`` (features) of ``(x, x_hat)`` batches."""
        if not self._is_image:
            return float(self._reconstruction_r2(batches))
        data_range = self.data_range_ / self.pixel_scale_
        total, count = 0.0, 0
        for x, x_hat in batches:  # a running sum: nothing kept per batch
            total += float(ssim(x, x_hat, data_range=data_range).double().sum())
            count += len(x)
        return total / count


def collect_rows(batches, n_rows):
    """Copy batches of device tensors into preallocated host arrays, in order.

    ``batches`` yields tuples of tensors whose first axis is the batch; the
    result is one numpy array of ``n_rows`` rows per tuple position. Filling
    preallocated arrays instead of concatenating a list at the end matters
    at survey scale: a list of small per-batch results, allocated between
    the large activation buffers, pins the C heap, and RSS grew by 4 GB over
    40k-100k images. Here every per-batch copy is freed at once.
    """
    outputs, start = None, 0
    for parts in batches:
        host = [part.cpu().numpy() for part in parts]
        if outputs is None:
            outputs = [np.empty((n_rows, *h.shape[1:]), dtype=h.dtype) for h in host]
        stop = start + len(host[0])
        for out, part in zip(outputs, host, strict=True):
            out[start:stop] = part
        start = stop
    if start != n_rows:
        raise RuntimeError(f"Expected {n_rows} rows from the batches; got {start}.")
    return outputs
