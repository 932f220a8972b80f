"""Choosing the latent dimension, and judging latents against a baseline."""

from ._compare import compare_features, corrected_ttest, default_probes
from ._knee import KneeRefit, find_knee

__all__ = [
    "KneeRefit",
    "compare_features",
    "corrected_ttest",
    "default_probes",
    "find_knee",
]
