"""One scale policy for every VAE estimator, at fit and at transform."""

import numpy as np
import pytest

from skgalvae import DomainAdaptedVAETransformer, GMMVAETransformer, VAETransformer
from skgalvae.datasets import make_galaxies

SMALL = dict(n_latent=2, max_epochs=1, batch_size=16, random_state=0)
ESTIMATORS = [
    VAETransformer,
    GMMVAETransformer,
    DomainAdaptedVAETransformer,
]


def _fit(estimator, X):
    if isinstance(estimator, DomainAdaptedVAETransformer):
        domain = np.where(np.arange(len(X)) % 2, 1, -1)
        return estimator.fit(X, sample_domain=domain)
    return estimator.fit(X)


@pytest.fixture(scope="module")
def raw_flux():
    """Simulated survey flux as it comes, before any stretch: up to ~3e4."""
    return make_galaxies(32, random_state=0).images


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_unscaled_flux_is_refused_before_training_by_every_estimator(
    Estimator, raw_flux
):
    estimator = Estimator(**SMALL)
    with pytest.raises(ValueError, match=r"far from the scale.*AsinhStretch"):
        _fit(estimator, raw_flux)
    assert not hasattr(estimator, "net_")  # nothing trained


def test_eight_bit_values_stored_as_floats_get_the_pixel_scale_hint(images):
    X = (np.clip(images, 0, 1) * 255).astype(np.float32)
    with pytest.raises(ValueError, match="pass pixel_scale=255"):
        VAETransformer(**SMALL).fit(X)
    # The hint works: the same data with the scale trains.
    assert VAETransformer(**SMALL, pixel_scale=255).fit(X).transform(X).shape == (
        len(X),
        2,
    )


def test_an_unscaled_target_survey_is_refused(images, raw_flux):
    with pytest.raises(ValueError, match="X_target holds values in"):
        DomainAdaptedVAETransformer(**SMALL).fit(images[:32], X_target=raw_flux)


def test_data_outside_a_sigmoid_decoder_is_refused(images):
    with pytest.raises(ValueError, match="output_activation='sigmoid' decodes only"):
        VAETransformer(**SMALL, output_activation="sigmoid").fit(images * 3)


def test_negative_data_for_a_relu_decoder_is_refused(images):
    with pytest.raises(ValueError, match="output_activation='relu' decodes only"):
        VAETransformer(**SMALL, output_activation="relu").fit(images - 0.5)


@pytest.fixture(scope="module")
def uint8_images(images):
    return (np.clip(images, 0, 1) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def uint8_vae(uint8_images):
    return VAETransformer(**SMALL).fit(uint8_images)


@pytest.mark.parametrize(
    "method", ["transform", "reconstruct", "score", "score_samples_ssim"]
)
def test_a_uint8_model_refuses_floats_already_scaled(uint8_vae, uint8_images, method):
    scaled = uint8_images / 255.0
    with pytest.raises(ValueError, match="fitted on uint8 images.*scaled already"):
        getattr(uint8_vae, method)(scaled)
    getattr(uint8_vae, method)(uint8_images)  # the fit's own kind works


def test_a_float_model_refuses_uint8_images(fitted_vae, uint8_images):
    with pytest.raises(ValueError, match=r"255 times larger|times larger"):
        fitted_vae.transform(uint8_images)


def test_features_that_would_overflow_the_loss_are_refused(features):
    with pytest.raises(ValueError, match=r"trains features on \(at most 10000"):
        VAETransformer(n_latent=2, max_epochs=1).fit(features * 1e5)


def test_a_feature_model_refuses_data_a_thousand_times_larger(features):
    vae = VAETransformer(n_latent=2, max_epochs=1, random_state=0).fit(features)
    with pytest.raises(ValueError, match="times larger"):
        vae.transform(features * 1000)
    vae.transform(features[:1] * 0.01)  # small rows are fine


def test_a_learning_rate_that_diverges_is_named(images):
    with pytest.raises(FloatingPointError, match=r"likely cause is the learning rate"):
        VAETransformer(**{**SMALL, "max_epochs": 3}, lr=1e4).fit(images)


def test_identical_images_are_named_as_a_degenerate_data_set(images):
    same = np.repeat(images[:1], 48, axis=0)
    # Named whether the pre-training diverges or the mixture cannot start.
    with pytest.raises(
        (FloatingPointError, ValueError), match="training samples are identical"
    ):
        GMMVAETransformer(
            n_latent=2, max_epochs=3, pretrain_epochs=2, batch_size=16
        ).fit(same)


@pytest.fixture
def fits_files(images, tmp_path):
    """The fit images as FITS files, and the same images x5000 (raw flux)."""
    from astropy.io import fits

    paths, bright = [], []
    for i, image in enumerate(images[:24]):
        for folder, factor, out in (("same", 1.0, paths), ("x5000", 5000.0, bright)):
            (tmp_path / folder).mkdir(exist_ok=True)
            path = tmp_path / folder / f"g{i:02d}.fits"
            fits.writeto(path, (image * factor).astype(np.float32))
            out.append(str(path))
    return paths, bright


def test_files_scaled_unlike_the_fit_are_refused_at_transform(fitted_vae, fits_files):
    from skgalvae.io import FITSDataset

    same, bright = fits_files
    # Files of the fit's scale encode as the arrays do.
    fitted_vae.transform(same)
    for source in (bright, FITSDataset(bright)):
        with pytest.raises(ValueError, match="times larger"):
            fitted_vae.transform(source)
        with pytest.raises(ValueError, match="times larger"):
            fitted_vae.score(source)
