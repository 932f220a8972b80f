"""A fitted model's parts: its preprocessing steps and the VAE that ends it.

Its own module because both the estimators and the sharing code
(:mod:`skgalvae.sharing`) take models apart, and neither should import
the other for it.
"""

from __future__ import annotations

from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

__all__ = ["split_vae"]


def split_vae(estimator):
    """Return ``(preprocessing or None, final_step)`` of an estimator.

    ``estimator`` is a VAE or a Pipeline of preprocessing steps ending in one,
    either possibly wrapped in :class:`~sklearn.frozen.FrozenEstimator`; the
    final step comes back unwrapped. Callers check that it is a
    :class:`BaseVAE` where they need one.
    """
    if isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    preprocessing = None
    if isinstance(estimator, Pipeline):
        preprocessing = estimator[:-1] if len(estimator) > 1 else None
        estimator = estimator[-1]
    if isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    return preprocessing, estimator
