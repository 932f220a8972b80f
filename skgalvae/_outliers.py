"""Galaxies far out in latent space: the study's n-sigma defect finder."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["LatentOutlierDetector"]


class LatentOutlierDetector(OutlierMixin, BaseEstimator):
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
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        keep = np.ones(len(X), dtype=bool)
        self.n_iter_ = 1
        if self.clipping == "iterative":
            for d in range(X.shape[1]):
                for n_iter in range(1, self.max_iter + 1):
                    self.n_iter_ = max(self.n_iter_, n_iter)
                    values = X[keep, d]
                    std = values.std()
                    far = np.abs(X[:, d] - values.mean()) > self.n_sigma * std
                    if std == 0 or not (keep & far).any():
                        break
                    keep &= ~far
        self.center_ = X[keep].mean(axis=0)
        scale = X[keep].std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.offset_ = -float(self.n_sigma)
        self.n_inliers_fit_ = int(keep.sum())
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
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.abs((X - self.center_) / self.scale_).max(axis=1)

    def score_samples(self, X):
        """Return the opposite of :meth:`sigma`: the lower, the more abnormal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent)
            Latents.

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
        X : array-like of shape (n_samples, n_latent)
            Latents.

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
        X : array-like of shape (n_samples, n_latent)
            Latents.

        Returns
        -------
        ndarray of shape (n_samples,), dtype int
            -1 beyond ``n_sigma`` in some latent, else 1.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)
