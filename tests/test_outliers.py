import joblib
import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgalvae import (
    LatentOutlierDetector,
    ReconstructionOutlierDetector,
    VAETransformer,
)
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


_DENSE_VAE = VAETransformer(
    n_latent=2, hidden_dims=(8,), max_epochs=2, batch_size=16, random_state=0
)


@parametrize_with_checks(
    [ReconstructionOutlierDetector(_DENSE_VAE, n_sigma=1.5)],
    expected_failed_checks=lambda est: {
        "check_dtype_object": "the VAE rejects object arrays on purpose",
        # float32 matmuls round differently with the batch's size, so a
        # reconstruction moves by ~1 ulp, which the check's rtol=1e-7 sees in
        # decision values close to 0.
        "check_methods_subset_invariance": "float32 decoder rounding per batch",
        "check_methods_sample_order_invariance": "float32 decoder rounding per batch",
    },
)
def test_sklearn_compatible_reconstruction_detector(estimator, check):
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


@pytest.mark.slow
def test_pipeline_on_images_ranks_stars_and_defects_first(tmp_path):
    data = make_galaxies(400, star_fraction=0.05, defect_fraction=0.03, random_state=2)
    pipe = make_pipeline(
        MTFStretch(),
        VAETransformer(8, hidden_dims=(16, 32), max_epochs=4, batch_size=16,
                       architecture="xu2023", likelihood="sse",
                       lr_schedule="constant", augment=None, random_state=0),
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


# ------------------------------------------------- reconstruction errors


def test_reconstruction_error_is_the_per_value_error_in_input_units(fitted_vae, images):
    rec = fitted_vae.reconstruct(images)
    diff = (rec - images).reshape(len(images), -1).astype(np.float64)
    np.testing.assert_allclose(
        fitted_vae.reconstruction_error(images), (diff**2).mean(1), rtol=1e-4
    )
    np.testing.assert_allclose(
        fitted_vae.reconstruction_error(images, metric="mae"),
        np.abs(diff).mean(1),
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        fitted_vae.reconstruction_error(images, metric="ssim"),
        1 - fitted_vae.score_samples_ssim(images),
    )
    with pytest.raises(ValueError, match="metric must be 'mse', 'mae' or 'ssim'"):
        fitted_vae.reconstruction_error(images, metric="l2")


def test_reconstruction_error_of_uint8_images_is_in_counts(small_vae, images):
    counts = np.round(images / images.max() * 255).astype(np.uint8)
    vae = small_vae(max_epochs=1).fit(counts)
    rec = vae.reconstruct(counts)
    diff = (rec - counts.astype(np.float32)).reshape(len(counts), -1)
    np.testing.assert_allclose(
        vae.reconstruction_error(counts), (diff.astype(np.float64) ** 2).mean(1),
        rtol=1e-3,
    )  # fmt: skip


def _striped(images, rows, value):
    """Copies of ``images`` with a saturated horizontal stripe in ``rows``."""
    X = images.copy()
    X[rows, :, 30:33, :] = value
    return X


@pytest.mark.slow
def test_reconstruction_detector_flags_saturated_stripes(small_vae, images):
    # Two in 96: n outliers can reach at most sqrt(96 / n) sigma in one pass.
    X = _striped(images, [3, 77], images.max() * 4)
    detector = ReconstructionOutlierDetector(small_vae(), n_sigma=5).fit(X)
    assert set(np.flatnonzero(detector.predict(X) == -1)) == {3, 77}
    errors = detector.reconstruction_error(X)
    np.testing.assert_allclose(errors, detector.estimator_.reconstruction_error(X))
    # Iterative clipping: the statistics are those of the errors that stay in.
    keep = np.ones(len(X), bool)
    keep[[3, 77]] = False
    assert detector.n_inliers_fit_ == keep.sum()
    assert detector.center_ == pytest.approx(errors[keep].mean(), rel=1e-5)
    assert detector.scale_ == pytest.approx(errors[keep].std(), rel=1e-5)
    sigma = (errors - detector.center_) / detector.scale_
    np.testing.assert_allclose(detector.decision_function(X), 5 - sigma, rtol=1e-5)
    # One pass measures the scale with the stripes in it: wider, fewer flagged.
    one_pass = ReconstructionOutlierDetector(
        FrozenEstimator(detector.estimator_), n_sigma=5, clipping="one-pass"
    ).fit(X)
    assert one_pass.scale_ > detector.scale_
    assert one_pass.n_inliers_fit_ == len(X)


def test_reconstruction_detector_keeps_a_frozen_vae_and_pickles(
    fitted_vae, images, tmp_path
):
    before = fitted_vae.transform(images)
    detector = ReconstructionOutlierDetector(
        FrozenEstimator(fitted_vae), metric="ssim"
    ).fit(images)
    np.testing.assert_array_equal(fitted_vae.transform(images), before)
    np.testing.assert_allclose(
        detector.reconstruction_error(images),
        1 - fitted_vae.score_samples_ssim(images),
    )
    path = tmp_path / "detector.joblib"
    joblib.dump(detector, path)
    np.testing.assert_allclose(
        joblib.load(path).sigma(images), detector.sigma(images), rtol=1e-6
    )


@pytest.mark.slow
def test_reconstruction_detector_on_a_pipeline_finds_defects_and_stars():
    data = make_galaxies(400, star_fraction=0.05, defect_fraction=0.05, random_state=2)
    vae = VAETransformer(
        8, hidden_dims=(16, 32), max_epochs=4, batch_size=16, random_state=0
    )
    detector = ReconstructionOutlierDetector(make_pipeline(MTFStretch(), vae))
    detector.fit(data.images)
    stretched = detector.estimator_[0].transform(data.images)
    np.testing.assert_allclose(
        detector.reconstruction_error(data.images),
        detector.estimator_[-1].reconstruction_error(stretched),
    )
    flagged = (data.params["star"] | (data.params["defect"] != "none")).to_numpy()
    top = np.argsort(detector.score_samples(data.images))[: flagged.sum()]
    assert flagged[top].mean() > 3 * flagged.mean()


def test_reconstruction_detector_needs_a_vae(images):
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="got PCA, which has no reconstruction_error"):
        ReconstructionOutlierDetector(PCA()).fit(images.reshape(len(images), -1))
