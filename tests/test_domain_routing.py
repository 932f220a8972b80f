"""Target data through scikit-learn: metadata routing, Pipeline, GridSearchCV."""

import numpy as np
import pytest
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from skorch.callbacks import Callback

from skgalvae import DomainAdaptedVAETransformer
from skgalvae.metrics import mmd2_score


class RecordDomainSizes(Callback):
    """Records (n_source, n_target) of every fit, across clones."""

    sizes: list = []  # on the class: fit deep-copies callback instances

    def on_train_begin(self, net, X=None, **kwargs):
        type(self).sizes.append((len(X.source), len(X.target)))


@pytest.fixture
def record():
    RecordDomainSizes.sizes = []
    return RecordDomainSizes


def da(**params):
    defaults = dict(
        n_latent=2, hidden_dims=(8,), max_epochs=2, batch_size=16, random_state=0
    )
    return DomainAdaptedVAETransformer(**{**defaults, **params})


def pipeline(vae):
    forest = RandomForestClassifier(n_estimators=10, random_state=0)
    return Pipeline([("vae", vae), ("rf", forest)])


GRID = {"vae__mmd_weight": [0.0, 0.5], "vae__n_latent": [2, 3]}


def test_grid_search_routes_sample_domain(two_surveys, record):
    X, y, domain = two_surveys
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        vae = da(callbacks=[record()]).set_fit_request(sample_domain=True)
        grid = GridSearchCV(pipeline(vae), GRID, cv=cv).fit(X, y, sample_domain=domain)
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    # Every CV fit saw its training fold's labels, sliced with X; the refit all.
    expected = [
        (int((domain[train] > 0).sum()), int((domain[train] < 0).sum()))
        for train, _ in cv.split(X)
    ]
    assert record.sizes[:-1] == expected * 4
    assert record.sizes[-1] == (60, 60)
    best = grid.best_estimator_["vae"]
    assert best.transform(X).shape == (120, best.n_latent)


def test_grid_search_without_routing_takes_step_fit_params(two_surveys, record):
    X, y, domain = two_surveys
    cv = KFold(2, shuffle=True, random_state=1)
    grid = GridSearchCV(pipeline(da(callbacks=[record()])), GRID, cv=cv)
    grid.fit(X, y, vae__sample_domain=domain)
    train = next(iter(cv.split(X)))[0]
    assert record.sizes[0] == ((domain[train] > 0).sum(), (domain[train] < 0).sum())
    assert record.sizes[-1] == (60, 60)


def test_pipeline_routes_x_target(two_surveys, record):
    X, y, domain = two_surveys
    source, target = domain > 0, domain < 0
    with sklearn.config_context(enable_metadata_routing=True):
        vae = da(callbacks=[record()]).set_fit_request(X_target=True)
        pipe = pipeline(vae).fit(X[source], y[source], X_target=X[target][:45])
        assert record.sizes == [(60, 45)]
        assert pipe.predict(X[target]).shape == (60,)
        # X_target is not requested by default: passing it unrequested is an
        # error, as everywhere in scikit-learn.
        with pytest.raises(UnsetMetadataPassedError, match="X_target"):
            pipeline(da()).fit(X[source], y[source], X_target=X[target])


def test_sample_domain_is_requested_by_default(two_surveys, record):
    X, y, domain = two_surveys
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = pipeline(da(callbacks=[record()])).fit(X, y, sample_domain=domain)
        assert record.sizes == [(60, 60)]
        # transform takes the labels too (the encoder is shared: same latents).
        np.testing.assert_array_equal(
            pipe["vae"].transform(X, sample_domain=domain), pipe["vae"].transform(X)
        )
        assert pipe.predict(X, sample_domain=domain).shape == (120,)


def test_mmd2_score_chooses_among_weights(two_surveys):
    X, _, domain = two_surveys
    cv = KFold(2, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        estimator = da(max_epochs=3).set_fit_request(sample_domain=True)
        grid = GridSearchCV(
            estimator, {"mmd_weight": [0.0, 20.0]}, scoring=mmd2_score, cv=cv
        ).fit(X, sample_domain=domain)
        scores = grid.cv_results_["mean_test_score"]
        assert np.all(np.isfinite(scores)) and np.all(scores <= 0.05)
        # The scorer got the test fold's labels: rescoring the refit model on
        # all rows through the search equals calling the scorer directly.
        direct = mmd2_score(grid.best_estimator_, X, sample_domain=domain)
        assert grid.score(X, sample_domain=domain) == pytest.approx(direct)
    with pytest.raises(ValueError, match="mmd2_score needs sample_domain"):
        mmd2_score(grid.best_estimator_, X)
