"""Metrics for reconstructions and latent spaces."""

from ..nn.ssim import ssim
from ._artifacts import band_flux_ratio, periodic_artifact_power
from ._domain import domain_auc
from ._mmd import (
    MMDScorer,
    mmd2,
    mmd2_permutation_test,
    mmd2_score,
    paired_latent_mse,
)

__all__ = [
    "MMDScorer",
    "band_flux_ratio",
    "domain_auc",
    "mmd2",
    "mmd2_permutation_test",
    "mmd2_score",
    "paired_latent_mse",
    "periodic_artifact_power",
    "ssim",
]
