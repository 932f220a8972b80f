"""Fits in threads are reproducible: each fit draws from generators of its own."""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skgalvae import DomainAdaptedVAETransformer, VAETransformer


def _search(images, **fit_params):
    search = GridSearchCV(
        VAETransformer(
            architecture="xu2023", max_epochs=2, batch_size=16, random_state=0
        ),
        {"n_latent": [2, 3, 4]},
        cv=2,
        n_jobs=2,
    )
    return search.fit(images[:64]).cv_results_["mean_test_score"]


@pytest.mark.slow
def test_grid_search_in_threads_gives_the_same_scores_every_run(images):
    with joblib.parallel_backend("sequential"):
        reference = _search(images)
    for _ in range(2):
        with joblib.parallel_backend("threading", n_jobs=2):
            np.testing.assert_array_equal(_search(images), reference)


@pytest.mark.slow
def test_grid_search_on_a_two_thread_dask_worker_is_reproducible(images):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            # Not compared with this process's scores: dask runs the worker's
            # torch on one intra-op thread, which rounds sums differently.
            runs = [_search(images) for _ in range(2)]
    for scores in runs[1:]:
        np.testing.assert_array_equal(scores, runs[0])


def test_fits_leave_the_global_generator_alone(images, small_vae):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small_vae(max_epochs=1, augment="dihedral").fit(images)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_domain_adaptation_in_threads_is_reproducible(two_surveys):
    X, _, domain = two_surveys

    def fit(seed):
        model = DomainAdaptedVAETransformer(
            n_latent=2, max_epochs=3, batch_size=16, random_state=seed
        )
        return model.fit(X, sample_domain=domain).transform(X)

    reference = [fit(seed) for seed in range(4)]
    with joblib.parallel_backend("threading", n_jobs=2):
        threaded = joblib.Parallel()(joblib.delayed(fit)(s) for s in range(4))
    for mine, theirs in zip(threaded, reference, strict=True):
        np.testing.assert_array_equal(mine, theirs)
