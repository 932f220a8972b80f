"""Choosing the latent dimension: the knee of SSIM versus ``n_latent``."""

from ._knee import KneeRefit, find_knee

__all__ = ["KneeRefit", "find_knee"]
