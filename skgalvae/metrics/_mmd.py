"""Distances between latent distributions of two surveys (domain shift)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.metadata_routing import MetadataRequest
from sklearn.utils.validation import check_array

from ..io._intake import check_numeric_values
from ..nn.adaptation import mmd2 as _torch_mmd2
from ..utils._domains import split_sample_domain, survey_latents


def _latents(Z, name):
    check_numeric_values(Z, name, "this metric")
    return check_array(Z, dtype=np.float64, input_name=name, ensure_min_samples=2)


def _check_pair(Z_source, Z_target):
    Z_source = _latents(Z_source, "Z_source")
    Z_target = _latents(Z_target, "Z_target")
    if Z_source.shape[1] != Z_target.shape[1]:
        raise ValueError(
            f"Z_source has {Z_source.shape[1]} columns but Z_target has "
            f"{Z_target.shape[1]}; both must be latents of the same space."
        )
    return Z_source, Z_target


def mmd2(
    Z_source,
    Z_target,
    *,
    kernel: str = "rbf",
    n_kernels: int = 5,
    kernel_mul=2.0,
    paired: bool = False,
) -> float:
    """Unbiased squared maximum mean discrepancy between two sets of latents.

    The estimator of Gretton et al. (2012) with the kernel of the study's code:
    a sum of ``n_kernels`` Gaussian kernels with bandwidths spaced by
    ``kernel_mul`` around the mean pairwise squared distance of the pooled
    sample; or a linear kernel. The same function, in torch, is the domain
    adaptation loss (:func:`skgalvae.nn.mmd2`).

    Parameters
    ----------
    Z_source : array-like of shape (n_source, n_latent)
        Latents of one survey; at least 2 rows.
    Z_target : array-like of shape (n_target, n_latent)
        Latents of the other; at least 2 rows, any number.
    kernel : {"rbf", "linear"}, default="rbf"
        Multi-bandwidth Gaussian, or linear (then MMD^2 is the squared distance
        between the two means).
    n_kernels : int, default=5
        Number of Gaussian kernels.
    kernel_mul : float, default=2.0
        Ratio of consecutive bandwidths.
    paired : bool, default=False
        Rows ``i`` of both are the same galaxies (e.g. from
        :func:`~skgalvae.datasets.make_survey_pairs`): leave each galaxy's
        own pair out of the cross term, which keeps the estimate unbiased for
        such dependent samples.

    Returns
    -------
    float
        MMD^2, computed in float64. Near 0 (and possibly slightly negative)
        when both samples come from one distribution.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.metrics import mmd2
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(200, 4)), rng.normal(size=(300, 4))
    >>> abs(mmd2(a, b)) < 0.02, mmd2(a, b + 1.0) > 0.3
    (True, True)
    """
    Z_source, Z_target = _check_pair(Z_source, Z_target)
    value = _torch_mmd2(
        torch.from_numpy(Z_source),
        torch.from_numpy(Z_target),
        kernel=kernel,
        n_kernels=n_kernels,
        kernel_mul=kernel_mul,
        paired=paired,
    )
    return float(value)


def mmd2_permutation_test(
    Z_source,
    Z_target,
    *,
    n_permutations: int = 200,
    random_state=None,
    **kernel_params,
):
    """MMD^2 and its permutation p-value under "same distribution".

    The pooled latents are split at random into groups of the original sizes
    ``n_permutations`` times; the p-value is the fraction of splits whose
    MMD^2 reaches the observed one, counting the observed split (so it is never
    0).

    Parameters
    ----------
    Z_source, Z_target : array-like of shape (n, n_latent)
        The two sets of latents.
    n_permutations : int, default=200
        Random splits.
    random_state : int, RandomState instance or None, default=None
        Seed of the splits.
    **kernel_params
        ``kernel``, ``n_kernels``, ``kernel_mul``, as for :func:`mmd2`.

    Returns
    -------
    statistic : float
        The observed MMD^2.
    p_value : float
        In ``(0, 1]``.
    """
    Z_source, Z_target = _check_pair(Z_source, Z_target)
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1; got {n_permutations}.")
    observed = mmd2(Z_source, Z_target, **kernel_params)
    pooled = np.concatenate([Z_source, Z_target])
    m = len(Z_source)
    rng = check_random_state(random_state)
    exceed = 0
    for _ in range(n_permutations):
        order = rng.permutation(len(pooled))
        exceed += (
            mmd2(pooled[order[:m]], pooled[order[m:]], **kernel_params) >= observed
        )
    return observed, (exceed + 1) / (n_permutations + 1)


def paired_latent_mse(transformer, X_source, X_target):
    """Per-galaxy mean squared difference of latents seen by two surveys.

    The study's Sec. 5.1 (Fig. 5): the same galaxies imaged by two surveys
    are encoded by one ``transformer``; for each galaxy the squared
    differences of the latent means are averaged over latent dimensions.

    Parameters
    ----------
    transformer : fitted transformer
        E.g. a fitted :class:`~skgalvae.VAETransformer` or a Pipeline ending in
        one; its ``transform`` gives the latents (an anchored
        :class:`~skgalvae.DomainAdaptedVAETransformer` encodes each survey
        with its encoder).
    X_source, X_target : array-like of shape (n_galaxies, ...)
        The same galaxies in the two surveys, row for row.

    Returns
    -------
    ndarray of shape (n_galaxies,)
        Latent MSE per galaxy.
    """
    _check_paired(len(X_source), len(X_target), "X")
    return _paired_mse(
        survey_latents(transformer, X_source, "source"),
        survey_latents(transformer, X_target, "target"),
    )


def _check_paired(n_source, n_target, name):
    if n_source != n_target:
        raise ValueError(
            f"{name}_source has {n_source} galaxies but {name}_target has "
            f"{n_target}; paired latent MSE needs the same galaxies, row for row."
        )


def _paired_mse(Z_source, Z_target):
    """:func:`paired_latent_mse` of latents already encoded, row for row."""
    Z_source = np.asarray(Z_source, dtype=np.float64)
    Z_target = np.asarray(Z_target, dtype=np.float64)
    _check_paired(len(Z_source), len(Z_target), "Z")
    return ((Z_source - Z_target) ** 2).mean(axis=1)


class MMDScorer:
    """Unsupervised scorer: ``-MMD^2`` between a model's source and target latents.

    Called as ``scorer(estimator, X, y=None, sample_domain=...)``, like any
    scikit-learn scorer: it encodes ``X`` with ``estimator.transform`` and
    compares the rows that ``sample_domain`` marks as source (``> 0``) and
    target (``< 0``) with :func:`mmd2`. Greater is better (better aligned
    surveys), as scikit-learn's model selection expects, so the value is
    ``-MMD^2``.

    It requests ``sample_domain`` through metadata routing, so
    ``GridSearchCV(..., scoring=mmd2_score).fit(X, sample_domain=d)`` passes
    each test fold's labels to it once routing is enabled
    (``sklearn.set_config(enable_metadata_routing=True)``).

    Parameters
    ----------
    kernel : {"rbf", "linear"}, default="rbf"
        As for :func:`mmd2`.
    n_kernels : int, default=5
        Number of Gaussian kernels.
    kernel_mul : float, default=2.0
        Ratio of consecutive bandwidths.

    Notes
    -----
    Alone, MMD^2 rewards collapsing the latent space: a constant encoder
    aligns any two surveys. To choose ``mmd_weight``, score it next to a
    reconstruction measure (``scoring={"mmd": mmd2_score, "ssim": ...}``) and
    refit on the best alignment among settings that keep reconstructions
    good; :mod:`skgalvae` documents a recipe in its domain adaptation guide.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skgalvae.metrics import mmd2_score
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(size=(50, 5)), rng.normal(size=(50, 5)) + 2]
    >>> domain = np.r_[np.ones(50), -np.ones(50)].astype(int)
    >>> pca = PCA(2).fit(X)
    >>> mmd2_score(pca, X, sample_domain=domain) < -0.5
    True
    """

    def __init__(self, *, kernel="rbf", n_kernels=5, kernel_mul=2.0):
        self.kernel = kernel
        self.n_kernels = n_kernels
        self.kernel_mul = kernel_mul

    def __call__(self, estimator, X, y=None, sample_domain=None):
        """Return ``-MMD^2`` between the source and target rows' latents.

        Parameters
        ----------
        estimator : fitted transformer
            Its ``transform`` gives the latents.
        X : array-like
            Samples of both surveys.
        y : None
            Ignored.
        sample_domain : array-like of shape (n_samples,)
            Domain labels: ``> 0`` source, ``< 0`` target.

        Returns
        -------
        float
        """
        if sample_domain is None:
            raise ValueError(
                "mmd2_score needs sample_domain (> 0 source rows, < 0 target rows). "
                "Pass it directly, or through GridSearchCV.fit with metadata "
                "routing enabled: sklearn.set_config(enable_metadata_routing=True)."
            )
        source, target = split_sample_domain(
            sample_domain, len(X), "mmd2_score", require_both=True
        )
        Z = np.asarray(
            survey_latents(estimator, X, sample_domain=sample_domain), np.float64
        )
        return -mmd2(
            Z[source],
            Z[target],
            kernel=self.kernel,
            n_kernels=self.n_kernels,
            kernel_mul=self.kernel_mul,
        )

    def get_metadata_routing(self):
        """Request ``sample_domain`` for scoring (scikit-learn metadata routing).

        Returns
        -------
        sklearn.utils.metadata_routing.MetadataRequest
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="sample_domain", alias=True)
        return request

    def __repr__(self):
        return (
            f"MMDScorer(kernel={self.kernel!r}, n_kernels={self.n_kernels}, "
            f"kernel_mul={self.kernel_mul})"
        )


#: The default :class:`MMDScorer`: ``-MMD^2`` with the study's kernel.
mmd2_score = MMDScorer()
