"""Metrics for reconstructions and latent spaces."""

from ._ssim import ssim

__all__ = ["ssim"]
