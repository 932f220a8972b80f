"""DomainAdaptedVAETransformer inside skada's pipelines, scorers and splitters."""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from skgalvae import DomainAdaptedVAETransformer

skada = pytest.importorskip("skada")
from skada import make_da_pipeline  # noqa: E402
from skada.metrics import DeepEmbeddedValidation, PredictionEntropyScorer  # noqa: E402
from skada.model_selection import SourceTargetShuffleSplit  # noqa: E402

# Importing skada turns scikit-learn's metadata routing on for the whole
# process; the rest of the suite runs without it, so it is off again here and
# on only inside these tests.
sklearn.set_config(enable_metadata_routing=False)


@pytest.fixture(autouse=True)
def metadata_routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.fixture(scope="module")
def shifted(two_surveys):
    """The two surveys, with the target rows' labels masked as -1."""
    X, y, domain = two_surveys
    return X, y, np.where(domain > 0, y, -1), domain


def da(**params):
    defaults = dict(
        n_latent=2, hidden_dims=(8,), max_epochs=2, batch_size=16, random_state=0
    )
    return DomainAdaptedVAETransformer(**{**defaults, **params})


def test_make_da_pipeline_adapts_on_all_rows_and_classifies_on_sources(shifted):
    X, y, y_masked, domain = shifted
    pipe = make_da_pipeline(da(), LogisticRegression())
    pipe.fit(X, y_masked, sample_domain=domain)
    vae = pipe[0].get_estimator()
    # The VAE saw both surveys (sample_domain requested by default) ...
    assert (vae.n_source_, vae.n_target_) == (60, 60)
    np.testing.assert_array_equal(vae.domains_, [1, -1])
    # ... and the classifier only the labelled source rows: no class -1.
    np.testing.assert_array_equal(pipe[-1].get_estimator().classes_, [0, 1])
    target = domain < 0
    predictions = pipe.predict(X[target], sample_domain=domain[target])
    assert predictions.shape == (60,) and set(predictions) <= {0, 1}
    assert 0 <= pipe.score(X[target], y[target], sample_domain=domain[target]) <= 1


@pytest.mark.parametrize(
    "scorer_class", [PredictionEntropyScorer, DeepEmbeddedValidation]
)
def test_skada_scorers_score_the_pipeline(shifted, scorer_class):
    X, _, y_masked, domain = shifted
    scorer = scorer_class()  # needs routing on: built inside the test
    pipe = make_da_pipeline(da(), LogisticRegression())
    pipe.fit(X, y_masked, sample_domain=domain)
    score = scorer(pipe, X, y_masked, sample_domain=domain)
    assert np.isfinite(score) and score <= 0  # both are negated losses


def test_grid_search_over_the_weight_with_source_target_splits(shifted):
    X, _, y_masked, domain = shifted
    pipe = make_da_pipeline(da(), LogisticRegression())
    grid = GridSearchCV(
        pipe,
        {"domainadaptedvaetransformer__mmd_weight": [0.0, 1.0]},
        cv=SourceTargetShuffleSplit(n_splits=2, random_state=0),
        scoring=PredictionEntropyScorer(),
    ).fit(X, y_masked, sample_domain=domain)
    scores = grid.cv_results_["mean_test_score"]
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    best = grid.best_estimator_[0].get_estimator()
    assert (
        best.mmd_weight == grid.best_params_["domainadaptedvaetransformer__mmd_weight"]
    )
    assert best.n_source_ == 60 and best.n_target_ == 60  # the refit saw all rows
