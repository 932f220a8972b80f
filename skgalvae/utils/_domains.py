"""Domain labels of samples (skada's ``sample_domain`` convention)."""

from __future__ import annotations

import numpy as np


def check_sample_domain(sample_domain, n_samples):
    """Validate skada-style domain labels; return them as an int64 array.

    Parameters
    ----------
    sample_domain : array-like of shape (n_samples,)
        Integer labels, ``> 0`` for source rows and ``< 0`` for target rows.
    n_samples : int
        Rows of the data the labels belong to.

    Returns
    -------
    ndarray of int64, shape (n_samples,)
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
    return labels.astype(np.int64)


def domain_order(labels):
    """Order distinct domain labels so that the first is a source, the second a target.

    Sources ascending (1, 2, ...) and targets descending (-1, -2, ...),
    interleaved from the first of each: ``[s1, t1, s2, t2, ...]``, the
    remaining labels of the longer side last. Index 0 is "the source" and
    index 1 "the target" of a two-survey model.

    Parameters
    ----------
    labels : array-like of int
        Domain labels (repeats allowed), at least one of each sign.

    Returns
    -------
    ndarray of int64
    """
    distinct = np.unique(labels)
    sources = list(distinct[distinct > 0])
    targets = list(distinct[distinct < 0][::-1])
    order = []
    while sources or targets:
        order += [side.pop(0) for side in (sources, targets) if side]
    return np.asarray(order, dtype=np.int64)


def split_sample_domain(sample_domain, n_samples, estimator_name, *, require_both):
    """Validate skada-style domain labels; return source and target row indices.

    Several source (or target) labels are pooled into their side.

    Parameters
    ----------
    sample_domain : array-like of shape (n_samples,)
        Integer labels, ``> 0`` for source rows and ``< 0`` for target rows.
    n_samples : int
        Rows of the data the labels belong to.
    estimator_name : str
        Named in error messages.
    require_both : bool
        Raise when either side has no rows (at fit); scoring a CV fold may
        see one side only.

    Returns
    -------
    source_rows, target_rows : ndarray of int
        Sorted row indices.
    """
    labels = check_sample_domain(sample_domain, n_samples)
    if require_both:
        require_both_sides(labels, estimator_name)
    return np.flatnonzero(labels > 0), np.flatnonzero(labels < 0)


def require_both_sides(labels, estimator_name):
    """Raise unless the domain labels mark at least one source and one target row.

    Parameters
    ----------
    labels : ndarray of int
        Validated labels (:func:`check_sample_domain`).
    estimator_name : str
        Named in the message.
    """
    for side, sign, present in (
        ("source", "> 0", labels > 0),
        ("target", "< 0", labels < 0),
    ):
        if not present.any():
            raise ValueError(
                f"{estimator_name}: sample_domain marks no {side} rows ({sign}) "
                f"among the {len(labels)} rows of X; domain adaptation needs both "
                f"source and target surveys."
            )


def survey_latents(transformer, X, domain=None, sample_domain=None):
    """Return ``transformer``'s latents of one survey's rows, or of labelled rows.

    An adapted model with one encoder per survey
    (:class:`~skgalvae.DomainAdaptedVAETransformer` with ``anchor``) must be
    told whose images ``X`` holds; every other transformer encodes any
    survey's images the same way, and gets ``X`` alone.

    Parameters
    ----------
    transformer : fitted transformer
        Its ``transform`` gives the latents.
    X : array-like
        Samples to encode.
    domain : {"source", "target"} or int, default=None
        The survey of every row.
    sample_domain : array-like of shape (n_samples,), default=None
        The survey of each row (skada's labels); overrides ``domain``.

    Returns
    -------
    ndarray of shape (n_samples, n_latent)
    """
    if getattr(transformer, "anchor_", None) is None:
        return transformer.transform(X)
    if sample_domain is not None:
        return transformer.transform(X, sample_domain=sample_domain)
    return transformer.transform(X, domain=domain)
