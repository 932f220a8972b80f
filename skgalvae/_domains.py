"""Domain labels of samples (skada's ``sample_domain`` convention)."""

from __future__ import annotations

import numpy as np


def split_sample_domain(sample_domain, n_samples, estimator_name, *, require_both):
    """Validate skada-style domain labels; return source and target row indices.

    Parameters
    ----------
    sample_domain : array-like of shape (n_samples,)
        Integer labels, ``> 0`` for source rows and ``< 0`` for target rows.
    n_samples : int
        Rows of the data the labels belong to.
    estimator_name : str
        Named in error messages.
    require_both : bool
        Raise when either domain has no rows (at fit); scoring a CV fold may
        see one domain only.

    Returns
    -------
    source_rows, target_rows : ndarray of int
        Sorted row indices.
    """
    labels = np.asarray(sample_domain)
    if labels.ndim != 1 or len(labels) != n_samples:
        raise ValueError(
            f"sample_domain must be 1-D with one label per row of X ({n_samples} "
            f"rows); got shape {labels.shape}."
        )
    if labels.dtype.kind not in "iuf":
        raise ValueError(
            f"sample_domain must hold integers (> 0 source, < 0 target); got dtype "
            f"{labels.dtype}."
        )
    bad = np.flatnonzero(~np.isfinite(labels) | (labels != np.round(labels)))
    if len(bad):
        raise ValueError(
            f"sample_domain must hold integers; sample_domain[{bad[0]}] is "
            f"{labels[bad[0]]!r}."
        )
    zero = np.flatnonzero(labels == 0)
    if len(zero):
        raise ValueError(
            f"sample_domain[{zero[0]}] is 0; mark source rows with positive and "
            f"target rows with negative integers ({len(zero)} zero label(s))."
        )
    source_rows = np.flatnonzero(labels > 0)
    target_rows = np.flatnonzero(labels < 0)
    for rows, side, sign in (
        (source_rows, "source", "> 0"),
        (target_rows, "target", "< 0"),
    ):
        distinct = np.unique(labels[rows])
        if len(distinct) > 1:
            raise ValueError(
                f"{estimator_name} adapts one source survey to one target survey, "
                f"but sample_domain holds {len(distinct)} {side} labels "
                f"{distinct.tolist()}; give all {side} rows one label."
            )
        if require_both and not len(rows):
            raise ValueError(
                f"sample_domain marks no {side} rows ({sign}) among the "
                f"{n_samples} rows of X; domain adaptation needs both surveys."
            )
    return source_rows, target_rows
