"""Which rows of data too large to read whole a check or a fingerprint reads."""

from __future__ import annotations

import numpy as np

__all__ = ["evenly_spaced_rows"]


def evenly_spaced_rows(n_rows: int, n_wanted: int) -> np.ndarray:
    """Return up to ``n_wanted`` distinct row indices spread evenly over ``n_rows``.

    The first and last rows included; what a check or a fingerprint reads of
    data too large to read whole.
    """
    n_wanted = min(n_rows, n_wanted)
    return np.unique(np.linspace(0, n_rows - 1, n_wanted).astype(np.intp))
