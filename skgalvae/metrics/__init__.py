"""Metrics for reconstructions and latent spaces."""

from ._mmd import (
    MMDScorer,
    mmd2,
    mmd2_permutation_test,
    mmd2_score,
    paired_latent_mse,
)
from ._ssim import ssim

__all__ = [
    "MMDScorer",
    "mmd2",
    "mmd2_permutation_test",
    "mmd2_score",
    "paired_latent_mse",
    "ssim",
]
