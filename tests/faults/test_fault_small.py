"""Small silent failures, each now a clear error naming what and where."""

import re

import numpy as np
import pytest

from skgalvae import (
    LatentOutlierDetector,
    ReconstructionOutlierDetector,
    VAETransformer,
)


@pytest.mark.parametrize("name", ["batch_size", "max_epochs", "n_latent"])
def test_a_bool_for_an_int_parameter_is_refused(images, name):
    with pytest.raises(TypeError, match=rf"{name} must be an int; got True"):
        VAETransformer(**{"max_epochs": 1, name: True}).fit(images)


@pytest.mark.parametrize(
    "callbacks", [["x"], [("name", 3)], [(1, "x")]], ids=["str", "pair", "name"]
)
def test_malformed_callbacks_are_refused_before_skorch(images, callbacks):
    with pytest.raises(TypeError, match=r"callbacks\[0\] must be a skorch Callback"):
        VAETransformer(max_epochs=1, callbacks=callbacks).fit(images)


def test_the_side_error_gives_examples_that_obey_its_rule():
    X = np.zeros((4, 1, 64, 64), dtype=np.float32)
    with pytest.raises(ValueError, match="divisible by") as error:
        VAETransformer(architecture="xu2023", hidden_dims=(4,) * 7).fit(X)
    found = re.search(r"divisible by (\d+) \(e.g. (\d+), (\d+), (\d+)\)", str(error))
    divisor, *examples = map(int, found.groups())
    assert divisor > 64 and all(e % divisor == 0 and e >= divisor for e in examples)


def test_iterative_clipping_cannot_clip_away_every_sample():
    Z = np.random.default_rng(0).normal(size=(200, 4))
    Z[0] = 50
    with pytest.raises(ValueError, match=r"n_sigma=0.5 would remove all but \d+ of"):
        LatentOutlierDetector(clipping="iterative", n_sigma=0.5).fit(Z)
    detector = LatentOutlierDetector(clipping="iterative", n_sigma=3).fit(Z)
    assert np.isfinite(detector.center_).all() and detector.predict(Z[:1])[0] == -1


def test_iterative_clipping_of_reconstruction_errors_is_bounded_too(images):
    detector = ReconstructionOutlierDetector(
        VAETransformer(n_latent=2, max_epochs=1), n_sigma=0.01
    )
    with pytest.raises(ValueError, match="reconstruction errors, round"):
        detector.fit(images)


def test_astropy_stretch_refuses_nan_and_inverted_limits():
    from astropy.visualization import LogStretch, ManualInterval

    from skgalvae.preprocessing import AstropyStretch

    X = np.random.default_rng(0).random((4, 1, 8, 8)) - 0.5  # half below 0
    log = AstropyStretch(LogStretch(), ManualInterval(0, 0.5), clip=False).fit(X)
    with pytest.raises(ValueError, match=r"NaN or inf for \d+ pixels of image 0"):
        log.transform(X)
    clipped = AstropyStretch(LogStretch(), ManualInterval(0, 0.5)).fit(X)
    assert np.isfinite(clipped.transform(X)).all()
    inverted = AstropyStretch(interval=ManualInterval(1, 0)).fit(X)
    with pytest.raises(ValueError, match=r"limits \(1, 0\) for image 0, band 0"):
        inverted.transform(X)


def test_a_feature_model_does_not_score_samples_that_do_not_vary(features):
    vae = VAETransformer(n_latent=2, max_epochs=1, batch_size=32, random_state=0)
    vae.fit(features)
    assert np.isfinite(vae.score(features))
    for constant in (features[:1], np.repeat(features[:1], 5, axis=0)):
        with pytest.raises(ValueError, match="R\\^2 .* undefined .* all the same"):
            vae.score(constant)
    assert vae.reconstruction_error(features[:1]).shape == (1,)


@pytest.mark.parametrize("side", [4, 5, 10])
def test_the_image_side_hint_names_sides_that_work_end_to_end(side):
    X = np.random.default_rng(0).random((16, 1, side, side), dtype=np.float32)
    vae = VAETransformer(n_latent=2, hidden_dims=(8,), max_epochs=1, batch_size=8)
    with pytest.raises(ValueError, match=r"at least (\d+)") as info:
        vae.fit(X)
    suggested = int(re.search(r"at least (\d+)", str(info.value)).group(1))
    X = np.random.default_rng(0).random((16, 1, suggested, suggested), np.float32)
    assert np.isfinite(vae.fit(X).score(X))  # the SSIM's window fits
