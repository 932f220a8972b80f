"""skgalvae on a dask.distributed cluster: 2 worker processes on loopback."""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skgalvae import VAETransformer
from skgalvae.preprocessing import AsinhStretch
from skgalvae.survey import encode_dask, encode_survey, read_latents

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_workers_are_separate_processes_resolving_their_own_device(client):
    def where():
        import os

        from skgalvae.nn._device import resolve_device

        return os.getpid(), resolve_device("auto")

    results = client.run(where)
    assert len({pid for pid, _ in results.values()}) == 2
    assert {device for _, device in results.values()} == {"cpu"}


@pytest.mark.slow
def test_grid_search_on_the_cluster_ranks_as_n_jobs_1(client, images):
    pipe = make_pipeline(
        AsinhStretch(),
        VAETransformer(hidden_dims=(8,), max_epochs=2, batch_size=32, random_state=0),
    )
    grid = {"vaetransformer__n_latent": [1, 3, 8]}
    local = GridSearchCV(pipe, grid, cv=2, n_jobs=1).fit(images)
    with joblib.parallel_config(backend="dask"):
        spread = GridSearchCV(pipe, grid, cv=2, n_jobs=-1).fit(images)
    np.testing.assert_array_equal(
        spread.cv_results_["rank_test_score"], local.cv_results_["rank_test_score"]
    )
    np.testing.assert_allclose(
        spread.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-4,
    )
    assert spread.best_params_ == local.best_params_
    # The refitted model came back from a worker and runs here.
    np.testing.assert_allclose(
        spread.best_estimator_.transform(images),
        local.best_estimator_.transform(images),
        atol=1e-3,
    )


def test_distributed_encode_equals_in_memory_transform(client, fitted_vae, images):
    reference = fitted_vae.transform(images)
    stack = da.from_array(np.asarray(images, dtype=np.float32), chunks=(24, 3, 64, 64))
    latents = encode_dask(fitted_vae, stack)
    with distributed.get_task_stream(client) as stream:
        computed = client.compute(latents).result()
    np.testing.assert_allclose(computed, reference, atol=1e-5)
    # The blocks were encoded by the worker processes.
    encoders = [t["worker"] for t in stream.data if "_encode_chunk" in str(t["key"])]
    assert len(encoders) == 4
    assert set(encoders) <= set(client.scheduler_info()["workers"])


def test_encode_survey_reads_a_dask_array_through_the_cluster(
    client, fitted_vae, images, tmp_path
):
    stack = da.from_array(np.asarray(images, dtype=np.float32), chunks=(16, 3, 64, 64))
    summary = encode_survey(
        fitted_vae, stack, tmp_path / "z.zarr", batch_size=32, progress=False
    )
    assert summary.n_encoded == len(images)
    frame = read_latents(tmp_path / "z.zarr")
    np.testing.assert_allclose(
        frame[[f"vae{i}" for i in range(4)]].to_numpy(),
        fitted_vae.transform(images),
        atol=1e-5,
    )
