"""Metrics for reconstructions and latent spaces."""

from ._mmd import mmd2, mmd2_permutation_test, paired_latent_mse
from ._ssim import ssim

__all__ = ["mmd2", "mmd2_permutation_test", "paired_latent_mse", "ssim"]
