"""Outlier detectors on a VAE: far out in latent space, or badly reconstructed.

:class:`LatentOutlierDetector` is the study's n-sigma rule on latents;
:class:`ReconstructionOutlierDetector` scores each galaxy by how badly a VAE
reconstructs it. Both follow scikit-learn's outlier-detector API.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    OutlierMixin,
    _fit_context,
    clone,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..io._intake import check_numeric_values
from ..utils._steps import split_vae
from ..utils._units import UnitAsText, strip_unit
from ._base import BaseVAE

__all__ = ["LatentOutlierDetector", "ReconstructionOutlierDetector"]


def _clip(values, keep, n_sigma, max_iter, *, upper_only=False, what="values"):
    """Drop values beyond ``n_sigma`` of the kept ones' mean, round by round.

    ``keep`` (a boolean mask over ``values``) is updated in place: each round
    re-estimates the mean and standard deviation of the values still kept and
    drops those beyond ``n_sigma`` of them (above only, with ``upper_only``),
    until a round drops nothing. Returns the number of rounds. A round that
    would leave fewer than two values (no centre and scale left to estimate)
    raises a ``ValueError`` naming ``what`` was clipped.
    """
    for n_iter in range(1, max_iter + 1):
        kept = values[keep]
        std = kept.std()
        deviation = values - kept.mean()
        if not upper_only:
            deviation = np.abs(deviation)
        far = deviation > n_sigma * std
        if std == 0 or not (keep & far).any():
            return n_iter
        if (keep & ~far).sum() < 2:
            raise ValueError(
                f"clipping='iterative' with n_sigma={n_sigma:g} would remove all "
                f"but {int((keep & ~far).sum())} of the {len(values)} training "
                f"samples ({what}, round {n_iter}), leaving no centre and scale to "
                f"estimate; raise n_sigma (the study uses 8) or use "
                f"clipping='one-pass'."
            )
        keep &= ~far
    return max_iter


class _SigmaRuleMixin(OutlierMixin):
    """Outlier API from ``sigma(X)`` and ``offset_ = -n_sigma``, shared by both."""

    def _fit_center_and_scale(self, values, names, *, upper_only=False):
        """Set the rule's fitted attributes from training ``values`` (n, d).

        With ``clipping="iterative"`` each column in turn (``names`` says
        which, for errors) drops the samples beyond ``n_sigma`` from all of
        them; ``center_`` and ``scale_`` (1 where 0) are the remaining
        samples' per-column mean and standard deviation.
        """
        keep = np.ones(len(values), dtype=bool)
        self.n_iter_ = 1
        if self.clipping == "iterative":
            for column, name in zip(values.T, names, strict=True):
                rounds = _clip(
                    column,
                    keep,
                    self.n_sigma,
                    self.max_iter,
                    upper_only=upper_only,
                    what=name,
                )
                self.n_iter_ = max(self.n_iter_, rounds)
        self.center_ = values[keep].mean(axis=0)
        scale = values[keep].std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.offset_ = -float(self.n_sigma)
        self.n_inliers_fit_ = int(keep.sum())

    def score_samples(self, X):
        """Return the opposite of :meth:`sigma`: the lower, the more abnormal.

        Parameters
        ----------
        X : array-like
            Samples of the fit's kind.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``-sigma(X)``, scikit-learn's sign convention for outlier scores.
        """
        return -self.sigma(X)

    def decision_function(self, X):
        """Return ``n_sigma - sigma(X)``: negative for outliers.

        Parameters
        ----------
        X : array-like
            Samples of the fit's kind.

        Returns
        -------
        ndarray of shape (n_samples,)
            Margin to the threshold in standard deviations.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Return -1 for outliers and +1 for inliers.

        Parameters
        ----------
        X : array-like
            Samples of the fit's kind.

        Returns
        -------
        ndarray of shape (n_samples,), dtype int
            -1 beyond ``n_sigma``, else 1.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)


class LatentOutlierDetector(_SigmaRuleMixin, UnitAsText, BaseEstimator):
    """Flag samples beyond ``n_sigma`` standard deviations in any latent.

    Xu et al. (2023, Sec. 6) flag galaxies whose latents lie beyond 8
    standard deviations of some latent dimension: 0.42% of GZ DECaLS, almost
    all image defects and bright stars. Each dimension ``d`` is standardised,
    ``|z_d - center_[d]| / scale_[d]``, and a sample's distance is the largest
    of these over the dimensions.

    Put it after a fitted or unfitted VAE to work on images:
    ``make_pipeline(MTFStretch(), VAETransformer(), LatentOutlierDetector())``.

    Parameters
    ----------
    n_sigma : float, default=8.0
        Threshold in standard deviations (the study's 8).
    clipping : {"one-pass", "iterative"}, default="one-pass"
        How ``center_`` and ``scale_`` are estimated.

        - ``"one-pass"``: the mean and standard deviation of each dimension
          over all training samples. Outliers inflate the standard deviation
          they are measured against, so extreme ones can hide each other.
        - ``"iterative"``: the study's code. Dimension by dimension, samples
          beyond ``n_sigma`` are removed and the mean and standard deviation
          re-estimated until nothing more is removed; the samples removed in
          one dimension stay out for the next. ``center_`` and ``scale_`` are
          the statistics of the samples that survive.
    max_iter : int, default=100
        Most clipping rounds per dimension (``"iterative"`` only).

    Attributes
    ----------
    center_ : ndarray of shape (n_latent,)
        Mean of each latent over the (clipped) training samples.
    input_unit_ : astropy.units.Unit or None
        Unit of ``X`` when fitted on an astropy ``Quantity`` (later data is
        converted to it), else None.
    scale_ : ndarray of shape (n_latent,)
        Standard deviation of each latent over them; 1 where it is 0.
    offset_ : float
        ``-n_sigma``: ``decision_function = score_samples - offset_``.
    n_inliers_fit_ : int
        Training samples that ``center_`` and ``scale_`` were estimated from.
    n_iter_ : int
        Most clipping rounds any dimension took (1 for ``"one-pass"``).
    n_features_in_ : int
        Number of latents seen in fit.
    feature_names_in_ : ndarray of shape (n_latent,)
        Names of the latents, when given as a DataFrame.

    See Also
    --------
    skgalvae.VAETransformer : Turns images into the latents scored here.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import LatentOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> Z = rng.normal(size=(1000, 4))
    >>> Z[0, 2] = 30.0  # one galaxy far out in latent 2
    >>> detector = LatentOutlierDetector(n_sigma=8).fit(Z)
    >>> np.flatnonzero(detector.predict(Z) == -1)
    array([0])
    """

    _parameter_constraints: dict = {
        "n_sigma": [Interval(Real, 0, None, closed="neither")],
        "clipping": [StrOptions({"one-pass", "iterative"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_sigma: float = 8.0,
        *,
        clipping: str = "one-pass",
        max_iter: int = 100,
    ):
        self.n_sigma = n_sigma
        self.clipping = clipping
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the center and scale of each latent.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent)
            Latents, e.g. ``VAETransformer.transform`` output.
        y : None
            Ignored.

        Returns
        -------
        self : LatentOutlierDetector
            Fitted detector.
        """
        X = strip_unit(self, X, reset=True)
        check_numeric_values(X, "X", type(self).__name__)
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self._fit_center_and_scale(X, [f"latent {d}" for d in range(X.shape[1])])
        return self

    def sigma(self, X):
        """Return each sample's largest absolute standardised latent.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent)
            Latents.

        Returns
        -------
        ndarray of shape (n_samples,)
            Distance in standard deviations; beyond ``n_sigma`` is an outlier.
        """
        check_is_fitted(self)
        X = strip_unit(self, X, reset=False)  # converted to the fit's unit
        check_numeric_values(X, "X", type(self).__name__)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.abs((X - self.center_) / self.scale_).max(axis=1)


def _split_vae(estimator):
    """Return ``(preprocessing or None, vae)`` of a VAE or a Pipeline ending in one."""
    preprocessing, vae = split_vae(estimator)
    if not isinstance(vae, BaseVAE):
        raise TypeError(
            f"ReconstructionOutlierDetector needs a skgalvae VAE, or a Pipeline "
            f"ending in one, as estimator; got {type(vae).__name__}, which has "
            f"no reconstruction_error."
        )
    return preprocessing, vae


class ReconstructionOutlierDetector(_SigmaRuleMixin, MetaEstimatorMixin, BaseEstimator):
    """Flag samples that a VAE reconstructs far worse than the others.

    A VAE learns to reconstruct what is common in its training set. Image
    defects (masked rows, saturated columns), bright foreground stars and
    other rare contaminants reconstruct badly, so the
    reconstruction error is an outlier score that looks at pixels where
    :class:`LatentOutlierDetector` looks at where the galaxy lands in latent
    space; the two find different outliers. Each sample's error is
    standardised against the training errors, and samples more than
    ``n_sigma`` standard deviations above the mean are outliers. Only high
    errors count: reconstructing a galaxy unusually well is not abnormal.

    Parameters
    ----------
    estimator : estimator or None, default=None
        The VAE: a :class:`~skgalvae.VAETransformer` (or another skgalvae
        VAE), or a :class:`~sklearn.pipeline.Pipeline` of preprocessing
        steps ending in one, e.g. ``make_pipeline(MTFStretch(),
        VAETransformer())``; errors are measured after the preprocessing.
        It is cloned and fitted in :meth:`fit`. To score with an already
        fitted one, wrap it in :class:`sklearn.frozen.FrozenEstimator`.
        ``None`` is ``VAETransformer()``.
    metric : {"mse", "mae", "ssim"}, default="mse"
        Per-sample error (:meth:`VAETransformer.reconstruction_error`): mean
        squared or absolute difference per pixel, or ``1 - SSIM``.
    n_sigma : float, default=4.0
        Threshold in standard deviations of the error. On the simulator
        (``benchmarks/bench_outliers.py``) 4 flags 2.5% of galaxies, 77% of
        them with a bright star or a defect.
    clipping : {"one-pass", "iterative"}, default="iterative"
        How ``center_`` and ``scale_`` are estimated: the mean and standard
        deviation of all training errors, or those left after iteratively
        removing errors beyond ``n_sigma`` above the mean (as
        :class:`LatentOutlierDetector` does per latent), so that a few very
        bad reconstructions do not inflate the scale that judges them.
    max_iter : int, default=100
        Most clipping rounds (``"iterative"`` only).

    Attributes
    ----------
    estimator_ : estimator
        The fitted VAE (or pipeline).
    center_ : float
        Mean training error, after clipping.
    scale_ : float
        Standard deviation of the training errors, after clipping; 1 where
        it is 0.
    offset_ : float
        ``-n_sigma``: ``decision_function = score_samples - offset_``.
    n_inliers_fit_ : int
        Training samples ``center_`` and ``scale_`` were estimated from.
    n_iter_ : int
        Clipping rounds taken (1 for ``"one-pass"``).
    n_features_in_ : int
        Number of features (values per sample) seen in fit.

    See Also
    --------
    LatentOutlierDetector : The study's rule, on latents.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import ReconstructionOutlierDetector, VAETransformer
    >>> X = np.random.default_rng(0).random((64, 3, 64, 64), dtype=np.float32)
    >>> X[0, :, 30:34] = 50.0  # a saturated stripe
    >>> detector = ReconstructionOutlierDetector(
    ...     VAETransformer(n_latent=4, max_epochs=2, random_state=0)
    ... ).fit(X)
    >>> int(np.argmax(detector.sigma(X)))
    0
    """

    _parameter_constraints: dict = {
        "estimator": [None, HasMethods(["fit"])],
        "metric": [StrOptions({"mse", "mae", "ssim"})],
        "n_sigma": [Interval(Real, 0, None, closed="neither")],
        "clipping": [StrOptions({"one-pass", "iterative"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        metric: str = "mse",
        n_sigma: float = 4.0,
        clipping: str = "iterative",
        max_iter: int = 100,
    ):
        self.estimator = estimator
        self.metric = metric
        self.n_sigma = n_sigma
        self.clipping = clipping
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the VAE on ``X`` and the distribution of its errors.

        Parameters
        ----------
        X : array-like
            Training images (or feature vectors), as for the VAE.
        y : None
            Ignored.

        Returns
        -------
        self : ReconstructionOutlierDetector
            Fitted detector.
        """
        from ._vae import VAETransformer

        estimator = VAETransformer() if self.estimator is None else self.estimator
        _split_vae(estimator)  # a clear error before a long fit
        self.estimator_ = clone(estimator).fit(X, y)
        try:
            self.n_features_in_ = self.estimator_.n_features_in_
        except AttributeError:  # a first pipeline step that does not record it
            self.n_features_in_ = _split_vae(self.estimator_)[1].n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        errors = self.reconstruction_error(X).astype(np.float64)[:, None]
        self._fit_center_and_scale(errors, ["reconstruction errors"], upper_only=True)
        self.center_, self.scale_ = float(self.center_[0]), float(self.scale_[0])
        return self

    def reconstruction_error(self, X):
        """Return each sample's reconstruction error under ``metric``.

        Parameters
        ----------
        X : array-like
            Samples of the fit's kind.

        Returns
        -------
        ndarray of shape (n_samples,)
            The VAE's :meth:`~skgalvae.VAETransformer.reconstruction_error`,
            after the pipeline's preprocessing.
        """
        check_is_fitted(self)
        preprocessing, vae = _split_vae(self.estimator_)
        if preprocessing is not None:
            X = preprocessing.transform(X)
        return vae.reconstruction_error(X, metric=self.metric)

    def sigma(self, X):
        """Return how many standard deviations each error lies above the mean.

        Parameters
        ----------
        X : array-like
            Samples of the fit's kind.

        Returns
        -------
        ndarray of shape (n_samples,)
            Beyond ``n_sigma`` is an outlier; negative for errors below the
            mean.
        """
        check_is_fitted(self)
        errors = self.reconstruction_error(X).astype(np.float64)
        return (errors - self.center_) / self.scale_
