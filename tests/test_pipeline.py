"""VAETransformer inside scikit-learn pipelines and searches."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skgalvae import VAETransformer
from skgalvae.preprocessing import (
    AsinhStretch,
    AstropyStretch,
    BandScaler,
    CenterCrop,
    MTFStretch,
    Resize,
)

FIT_CALLS = []


class CountingVAE(VAETransformer):
    """Records every real fit, to tell cache hits from refits."""

    def fit(self, X, y=None):
        FIT_CALLS.append(self.n_latent)
        return super().fit(X, y)


def _pipeline(vae_cls=VAETransformer, memory=None):
    vae = vae_cls(n_latent=4, max_epochs=2, batch_size=32, random_state=0)
    rf = RandomForestClassifier(n_estimators=20, random_state=0)
    return Pipeline([("vae", vae), ("rf", rf)], memory=memory)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.slow
def test_grid_search_over_n_latent(blobs, n_jobs):
    search = GridSearchCV(_pipeline(), {"vae__n_latent": [2, 6]}, cv=2, n_jobs=n_jobs)
    search.fit(blobs.images, blobs.target)
    results = search.cv_results_
    assert list(results["param_vae__n_latent"]) == [2, 6]
    assert np.all(np.isfinite(results["mean_test_score"]))
    assert search.best_estimator_.named_steps["vae"].n_latent in (2, 6)
    # The blob classes are visible in the latents: better than chance (1/3).
    assert results["mean_test_score"].max() > 0.5
    assert search.predict(blobs.images[:5]).shape == (5,)


@pytest.mark.slow
def test_parallel_search_matches_serial(blobs):
    grid = {"vae__n_latent": [2, 6]}
    serial = GridSearchCV(_pipeline(), grid, cv=2, n_jobs=1).fit(
        blobs.images, blobs.target
    )
    parallel = GridSearchCV(_pipeline(), grid, cv=2, n_jobs=2).fit(
        blobs.images, blobs.target
    )
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )


@pytest.mark.slow
def test_unsupervised_search_uses_ssim_score(images):
    vae = VAETransformer(max_epochs=2, batch_size=32, random_state=0)
    search = GridSearchCV(vae, {"n_latent": [2, 8]}, cv=2).fit(images)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (2,)
    assert np.all((scores > -1) & (scores <= 1))
    fold_model = VAETransformer(
        n_latent=2, max_epochs=2, batch_size=32, random_state=0
    ).fit(images[48:])
    # Fold 0 trains on the second half and scores SSIM on the first.
    split0 = search.cv_results_["split0_test_score"][0]
    assert split0 == pytest.approx(fold_model.score(images[:48]), abs=1e-6)


@pytest.mark.slow
def test_pipeline_memory_skips_refitting_the_vae(blobs, tmp_path):
    FIT_CALLS.clear()
    pipe = _pipeline(CountingVAE, memory=str(tmp_path))
    search = GridSearchCV(pipe, {"rf__n_estimators": [5, 10, 20]}, cv=2)
    search.fit(blobs.images, blobs.target)
    # One VAE fit per fold plus the refit on all data; the RF sweep reuses them.
    assert len(FIT_CALLS) == 3
    first = search.cv_results_["mean_test_score"]
    FIT_CALLS.clear()
    search.fit(blobs.images, blobs.target)
    assert FIT_CALLS == []  # everything came from the cache
    np.testing.assert_array_equal(first, search.cv_results_["mean_test_score"])


@pytest.mark.parametrize(
    "step",
    [
        BandScaler(),
        AsinhStretch(),
        MTFStretch(),
        AstropyStretch(),
        CenterCrop(64),
        Resize(64),
    ],
    ids=lambda step: type(step).__name__,
)
def test_pandas_output_through_a_pipeline_of_every_transformer(step):
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    side = 80 if isinstance(step, (CenterCrop, Resize)) else 64
    X = np.random.default_rng(0).random((16, 1, side, side), dtype=np.float32)
    vae = VAETransformer(n_latent=2, hidden_dims=(8,), max_epochs=1, batch_size=16)
    pipe = make_pipeline(clone(step), vae).set_output(transform="pandas").fit(X)
    frame = pipe.transform(X)
    assert list(frame.columns) == ["vae0", "vae1"] and len(frame) == 16
    assert list(pipe.get_feature_names_out()) == ["vae0", "vae1"]
    # The images between the steps stay arrays.
    assert isinstance(pipe[0].transform(X), np.ndarray)
    assert len(pipe[0].get_feature_names_out()) == 64 * 64
