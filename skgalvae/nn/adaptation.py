"""Domain-adaptation losses on latent codes, as pure tensor functions.

Each takes two samples of latent vectors (one per survey) and returns a
scalar that is zero, or near it, when the two are aligned; all are
differentiable, so they serve both as training terms of
:class:`~skgalvae.nn.DomainAdaptationLoss` and as metrics.

- :func:`mmd2`: the unbiased multi-kernel maximum mean discrepancy of the
  study (Xu et al. 2023, eq. 6; Gretton et al. 2012);
- :func:`coral`: Deep CORAL, the distance between the two covariance
  matrices (Sun & Saenko 2016);
- :func:`cluster_mmd`: the MMD^2 cluster by cluster, each latent vector
  assigned to its nearest of fixed cluster centres (pseudo-labels), so that
  the surveys are aligned within each kind of galaxy whatever their mix of
  kinds (after Ye et al. 2025's clustering of the source latents);
- :func:`paired_consistency`: for the same objects seen by two surveys, the
  mean squared distance between each object's two latent vectors.

:data:`ADAPTATIONS` maps the names the estimators accept (``adaptation=``)
to the distribution-matching ones.
"""

from __future__ import annotations

import inspect

import torch

__all__ = [
    "ADAPTATIONS",
    "cluster_mmd",
    "coral",
    "mmd2",
    "nearest_centres",
    "paired_consistency",
    "rbf_bandwidths",
]


def _check_samples(name, source, target, min_rows):
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(
            f"{name} needs two 2-D samples with the same number of columns; got "
            f"shapes {tuple(source.shape)} and {tuple(target.shape)}."
        )
    m, n = source.shape[0], target.shape[0]
    if m < min_rows or n < min_rows:
        raise ValueError(
            f"{name} needs at least {min_rows} samples on each side; got {m} and {n}."
        )
    dtype = torch.promote_types(source.dtype, torch.float32)
    return source.to(dtype), target.to(dtype)


def rbf_bandwidths(sq_distances, n_kernels=5, kernel_mul=2.0):
    """Bandwidths of a multi-kernel RBF, spaced around the mean squared distance.

    As in the study's code (and DAN, Long et al. 2015): the base is the mean of
    the off-diagonal pairwise squared distances of the pooled sample, divided
    by ``kernel_mul ** (n_kernels // 2)``; the bandwidths are the base times
    ``kernel_mul ** i`` for ``i = 0 .. n_kernels - 1``. The bandwidths are
    treated as constants (no gradient flows through them).

    Parameters
    ----------
    sq_distances : torch.Tensor of shape (n, n)
        Pairwise squared distances of the pooled sample.
    n_kernels : int, default=5
        Number of RBF kernels.
    kernel_mul : float, default=2.0
        Ratio of consecutive bandwidths.

    Returns
    -------
    torch.Tensor of shape (n_kernels,)
    """
    n = sq_distances.shape[0]
    base = sq_distances.detach().sum() / (n * n - n)
    base = base.clamp_min(torch.finfo(sq_distances.dtype).tiny)
    base = base / kernel_mul ** (n_kernels // 2)
    powers = torch.arange(n_kernels, dtype=sq_distances.dtype, device=base.device)
    return base * kernel_mul**powers


def mmd2(source, target, kernel="rbf", n_kernels=5, kernel_mul=2.0, paired=False):
    """Unbiased squared maximum mean discrepancy between two samples.

    ``MMD^2_u = mean_{i != j} k(s_i, s_j) + mean_{i != j} k(t_i, t_j)
    - 2 mean_{i, j} k(s_i, t_j)`` (Gretton et al. 2012, eq. 3), for samples of
    any sizes ``m, n >= 2``. It is differentiable, so it serves as the domain
    adaptation loss on latent means and as the metric. Being unbiased, it can
    be slightly negative when the two distributions are equal.

    With ``paired=True`` (``s_i`` and ``t_i`` are the same object, so not
    independent) the cross term also leaves out ``i == j``: the U-statistic
    ``mean_{i != j} h(z_i, z_j)`` of Gretton et al. (2012, Lemma 6), which
    stays unbiased for paired samples. The all-pairs cross term would count
    each object against itself and read paired samples as closer than their
    distributions are.

    Parameters
    ----------
    source : torch.Tensor of shape (m, d)
        Sample from the first distribution (e.g. source-survey latents).
    target : torch.Tensor of shape (n, d)
        Sample from the second distribution.
    kernel : {"rbf", "linear"}, default="rbf"
        ``"rbf"``: a sum of ``n_kernels`` Gaussian kernels with bandwidths from
        :func:`rbf_bandwidths` on the pooled sample, as in the study's code.
        ``"linear"``: ``k(x, y) = x . y``, for which MMD^2 is the squared
        distance between the means.
    n_kernels : int, default=5
        Number of RBF kernels.
    kernel_mul : float, default=2.0
        Ratio of consecutive RBF bandwidths.
    paired : bool, default=False
        Whether row ``i`` of both samples is the same object (needs ``m == n``).

    Returns
    -------
    torch.Tensor
        A scalar, in float32 or the inputs' wider dtype.
    """
    source, target = _check_samples("mmd2", source, target, 2)
    m, n = source.shape[0], target.shape[0]
    pooled = torch.cat([source, target])
    if kernel == "linear":
        gram = pooled @ pooled.T
    elif kernel == "rbf":
        sq = (pooled.unsqueeze(0) - pooled.unsqueeze(1)).square().sum(dim=-1)
        bandwidths = rbf_bandwidths(sq, n_kernels, kernel_mul)
        gram = torch.exp(-sq.unsqueeze(0) / bandwidths.view(-1, 1, 1)).sum(dim=0)
    else:
        raise ValueError(f"kernel must be 'rbf' or 'linear'; got {kernel!r}.")
    k_ss, k_tt, k_st = gram[:m, :m], gram[m:, m:], gram[:m, m:]
    within_s = (k_ss.sum() - k_ss.diagonal().sum()) / (m * (m - 1))
    within_t = (k_tt.sum() - k_tt.diagonal().sum()) / (n * (n - 1))
    if paired:
        if m != n:
            raise ValueError(
                f"Paired samples need as many rows on each side; got {m} and {n}."
            )
        cross = (k_st.sum() - k_st.diagonal().sum()) / (m * (m - 1))
    else:
        cross = k_st.mean()
    return within_s + within_t - 2 * cross


def coral(source, target, paired=False, normalize=True):
    """Deep CORAL: the squared distance between the two samples' covariances.

    ``||C_s - C_t||_F^2 / (4 d^2)`` (Sun & Saenko 2016, eq. 1), with ``C``
    the unbiased sample covariance of each side's ``d`` columns. It matches
    second moments only, which makes it cheap, stable and, on many
    benchmarks, as good as richer distances (Lalou et al. 2024, SKADA-Bench).

    Parameters
    ----------
    source : torch.Tensor of shape (m, d)
        Sample of one distribution; at least 2 rows.
    target : torch.Tensor of shape (n, d)
        Sample of the other; at least 2 rows, any number.
    paired : bool, default=False
        Accepted for a common signature with :func:`mmd2`; covariances do not
        depend on the pairing.
    normalize : bool, default=True
        Divide by ``(||C_s||_F^2 + ||C_t||_F^2) / 2`` instead of ``4 d^2``,
        which makes the distance scale-free: shrinking both samples toward a
        point does not lower it. Deep CORAL's features are held at scale by
        a classification loss; a VAE's latents only by the reconstruction,
        and the unnormalised distance, used as a training term, collapses
        them. The study's MMD is scale-free the same way (its bandwidths
        follow the pooled sample's spread).

    Returns
    -------
    torch.Tensor
        A scalar, in float32 or the inputs' wider dtype.
    """
    source, target = _check_samples("coral", source, target, 2)
    d = source.shape[1]
    cov_s = torch.cov(source.T).reshape(d, d)
    cov_t = torch.cov(target.T).reshape(d, d)
    distance = (cov_s - cov_t).square().sum()
    if not normalize:
        return distance / (4 * d * d)
    scale = 0.5 * (cov_s.square().sum() + cov_t.square().sum())
    return distance / scale.clamp_min(torch.finfo(scale.dtype).tiny)


def paired_consistency(source, target, normalize=True):
    """Mean squared distance between each object's latents in two surveys.

    ``mean_i ||s_i - t_i||^2``: row ``i`` of both samples is the same object
    (the same galaxy imaged by both surveys). Unlike the distribution
    distances it pulls every pair together, not just the two clouds; it
    needs paired data.

    Parameters
    ----------
    source, target : torch.Tensor of shape (n, d)
        The two surveys' latents, row for row the same objects.
    normalize : bool, default=True
        Divide by the pooled samples' mean squared distance from their means
        (the latent spread), so that shrinking the latent space does not
        count as agreement; the value is then the relative paired MSE that
        :func:`skgalvae.study.latent_shift` reports.

    Returns
    -------
    torch.Tensor
        A scalar, in float32 or the inputs' wider dtype.
    """
    source, target = _check_samples("paired_consistency", source, target, 1)
    if source.shape[0] != target.shape[0]:
        raise ValueError(
            f"paired_consistency needs the same objects on both sides, row for row; "
            f"got {source.shape[0]} and {target.shape[0]} rows."
        )
    distance = (source - target).square().sum(dim=1).mean()
    if not normalize:
        return distance
    spread = 0.5 * sum(
        (side - side.mean(dim=0)).square().sum(dim=1).mean()
        for side in (source, target)
    )
    return distance / spread.clamp_min(torch.finfo(spread.dtype).tiny)


def nearest_centres(latents, centres):
    """Return the index of each row's nearest centre (its pseudo-label).

    Parameters
    ----------
    latents : torch.Tensor of shape (n, d)
        Latent vectors.
    centres : torch.Tensor of shape (k, d)
        Cluster centres.

    Returns
    -------
    torch.Tensor of shape (n,), int64
        No gradient flows through the assignment.
    """
    return torch.cdist(latents.detach().float(), centres.float()).argmin(dim=1)


def cluster_mmd(
    source,
    target,
    centres,
    kernel="rbf",
    n_kernels=5,
    kernel_mul=2.0,
    paired=False,
    min_rows=2,
):
    """MMD^2 between two samples, cluster by cluster.

    Each row of both samples is assigned to its nearest centre
    (:func:`nearest_centres`: the source rows' clusters, the target rows'
    pseudo-labels); the distance is the mean of :func:`mmd2` over the
    clusters that hold at least ``min_rows`` rows on both sides, weighted
    by the target rows each holds. A marginal distance between surveys
    whose mixes of galaxy kinds differ (more ellipticals in one) moves
    galaxies of one kind onto another to even the mixes out (Zhao et al.
    2019); aligned within clusters, the mixes may differ.

    Parameters
    ----------
    source : torch.Tensor of shape (m, d)
        Sample of the first distribution (source-survey latents).
    target : torch.Tensor of shape (n, d)
        Sample of the second.
    centres : torch.Tensor of shape (k, d)
        Cluster centres in the latent space, e.g. k-means centres of the
        source survey's latents.
    kernel, n_kernels, kernel_mul
        As for :func:`mmd2`, within each cluster.
    paired : bool, default=False
        Accepted for a common signature with :func:`mmd2`; the clusters of a
        pair's two rows may differ, so the unpaired estimator is used.
    min_rows : int, default=2
        Rows a cluster needs on each side to count (the unbiased MMD^2
        needs 2).

    Returns
    -------
    torch.Tensor
        A scalar, in float32 or the inputs' wider dtype; 0 (with a gradient
        of zero) when no cluster holds enough rows on both sides.
    """
    source, target = _check_samples("cluster_mmd", source, target, 2)
    if centres.ndim != 2 or centres.shape[1] != source.shape[1]:
        raise ValueError(
            f"cluster_mmd needs centres of shape (k, {source.shape[1]}); got "
            f"{tuple(centres.shape)}."
        )
    labels_s = nearest_centres(source, centres)
    labels_t = nearest_centres(target, centres)
    k = centres.shape[0]
    # One host sync for the counts; the clusters' sizes decide which count.
    counts = torch.stack(
        [torch.bincount(labels_s, minlength=k), torch.bincount(labels_t, minlength=k)]
    ).tolist()
    total = source.new_zeros(()) + 0.0 * target.sum()
    weight = 0
    for cluster in range(k):
        n_s, n_t = counts[0][cluster], counts[1][cluster]
        if n_s < min_rows or n_t < min_rows:
            continue
        distance = mmd2(
            source[labels_s == cluster],
            target[labels_t == cluster],
            kernel=kernel,
            n_kernels=n_kernels,
            kernel_mul=kernel_mul,
        )
        total = total + n_t * distance
        weight += n_t
    return total / weight if weight else total


#: The distribution distances ``adaptation=`` selects, by name. Each is called
#: as ``distance(source, target, **options)`` on two batches of latent means,
#: with those of ``paired``, ``kernel``, ``n_kernels``, ``kernel_mul`` and
#: ``centres`` (the estimator's latent clusters) that its signature names, and
#: returns a differentiable scalar. Adding an entry makes the name a valid
#: ``adaptation`` of :class:`~skgalvae.DomainAdaptedVAETransformer`.
ADAPTATIONS = {"mmd": mmd2, "coral": coral, "cluster_mmd": cluster_mmd}


def takes_centres(adaptation: str) -> bool:
    """Whether the distance ``adaptation`` aligns within latent clusters.

    Such a distance names ``centres`` in its signature; the estimator then
    clusters the source latents of its ``init`` and passes the centres.

    Parameters
    ----------
    adaptation : str
        A key of :data:`ADAPTATIONS`.

    Returns
    -------
    bool
    """
    return "centres" in inspect.signature(ADAPTATIONS[adaptation]).parameters
