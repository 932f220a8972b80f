import joblib
import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgalvae import LatentOutlierDetector, VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.preprocessing import MTFStretch


# A low threshold: the checks expect some of their small blobs to be outliers.
@parametrize_with_checks(
    [
        LatentOutlierDetector(n_sigma=1.5),
        LatentOutlierDetector(n_sigma=1.5, clipping="iterative"),
    ]
)
def test_sklearn_compatible_detector(estimator, check):
    check(estimator)


def gaussian_with_outliers(n=2000, d=5, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    far = np.arange(10)
    Z[far, far % d] = rng.choice([-1, 1], size=10) * rng.uniform(20, 60, size=10)
    return Z, far


def test_one_pass_rule_matches_its_definition():
    Z, far = gaussian_with_outliers()
    detector = LatentOutlierDetector(n_sigma=5).fit(Z)
    sigma = np.abs((Z - Z.mean(0)) / Z.std(0)).max(axis=1)
    np.testing.assert_allclose(detector.sigma(Z), sigma)
    np.testing.assert_allclose(detector.score_samples(Z), -sigma)
    np.testing.assert_allclose(detector.decision_function(Z), 5 - sigma)
    assert set(np.flatnonzero(detector.predict(Z) == -1)) == set(
        np.flatnonzero(sigma > 5)
    )
    assert detector.n_inliers_fit_ == len(Z)


def test_iterative_clipping_unmasks_outliers_hidden_by_worse_ones():
    # Five galaxies at 100 inflate latent 0's one-pass std to about 7, which
    # hides ten at 20 (under 3 sigma); clipping removes the five, re-estimates
    # the std (about 2) and then finds the ten at about 9 sigma.
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(1000, 3))
    Z[:5, 0] = 100.0
    Z[5:15, 0] = 20.0
    one_pass = LatentOutlierDetector(n_sigma=8).fit(Z)
    iterative = LatentOutlierDetector(n_sigma=8, clipping="iterative").fit(Z)
    assert set(np.flatnonzero(one_pass.predict(Z) == -1)) == set(range(5))
    assert set(np.flatnonzero(iterative.predict(Z) == -1)) == set(range(15))
    assert iterative.n_inliers_fit_ == 985 and iterative.n_iter_ >= 2
    np.testing.assert_allclose(iterative.center_[0], Z[15:, 0].mean())
    np.testing.assert_allclose(iterative.scale_[0], Z[15:, 0].std())


def test_both_rules_find_planted_outliers_and_fit_predict_agrees():
    Z, far = gaussian_with_outliers()
    for clipping in ("one-pass", "iterative"):
        detector = LatentOutlierDetector(n_sigma=8, clipping=clipping)
        labels = detector.fit_predict(Z)
        assert set(np.flatnonzero(labels == -1)) == set(far)
        np.testing.assert_array_equal(labels, detector.predict(Z))


def test_constant_latent_does_not_divide_by_zero():
    Z = np.c_[np.zeros(50), np.random.default_rng(0).normal(size=50)]
    detector = LatentOutlierDetector().fit(Z)
    assert detector.scale_[0] == 1.0 and np.isfinite(detector.sigma(Z)).all()


def test_wrong_width_is_named():
    detector = LatentOutlierDetector().fit(
        np.random.default_rng(0).normal(size=(20, 4))
    )
    with pytest.raises(ValueError, match="4 features"):
        detector.predict(np.zeros((3, 5)))


def test_pipeline_on_images_ranks_stars_and_defects_first(tmp_path):
    data = make_galaxies(400, star_fraction=0.05, defect_fraction=0.03, random_state=2)
    pipe = make_pipeline(
        MTFStretch(),
        VAETransformer(8, hidden_dims=(16, 32), max_epochs=4, batch_size=16,
                       random_state=0),
        LatentOutlierDetector(n_sigma=4),
    ).fit(data.images)  # fmt: skip
    flagged = (data.params["star"] | (data.params["defect"] != "none")).to_numpy()
    score = pipe.score_samples(data.images)
    top = np.argsort(score)[: flagged.sum()]
    # Far better than the base rate of stars and defects in the sample.
    assert flagged[top].mean() > 2 * flagged.mean()
    path = tmp_path / "detector.joblib"
    joblib.dump(pipe, path)
    np.testing.assert_array_equal(joblib.load(path).predict(data.images[:50]),
                                  pipe.predict(data.images[:50]))  # fmt: skip
