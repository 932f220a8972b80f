"""Bad input: each error names what is wrong and where."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skgalvae import VAETransformer


def _images(n=4, bands=3, side=64):
    return np.random.default_rng(0).random((n, bands, side, side), dtype=np.float32)


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, r"infinite \(inf\)")])
def test_non_finite_pixels_report_count_and_first_sample(bad, word):
    X = _images(6)
    X[3, 0, 5, 5] = bad
    X[5, 2, 0, :3] = bad
    with pytest.raises(
        ValueError,
        match=rf"X contains 4 {word} value.*first is in "
        r"sample 3",
    ):
        VAETransformer().fit(X)


def test_non_finite_pixels_at_transform(fitted_vae):
    X = _images(3)
    X[2, 1, 10, 10] = np.nan
    with pytest.raises(ValueError, match="1 NaN .* sample 2"):
        fitted_vae.transform(X)


def test_wrong_band_count_at_transform(fitted_vae):
    with pytest.raises(ValueError, match="X has 2 band.*fitted on 3 band"):
        fitted_vae.transform(_images(bands=2))


def test_wrong_image_size_at_transform(fitted_vae):
    with pytest.raises(ValueError, match="128x128 images.*fitted on 64x64"):
        fitted_vae.transform(_images(side=128))


def test_images_fitted_then_features_given(fitted_vae):
    # 2-D rows are read as flattened images of the fitted shape.
    with pytest.raises(
        ValueError,
        match=r"10 features per row.*image_shape=\(3, 64, "
        r"64\) needs 12288",
    ):
        fitted_vae.transform(np.zeros((2, 10), dtype=np.float32))


@pytest.mark.parametrize("side", [32, 96, 100])
def test_image_side_must_suit_the_studys_three_blocks(side):
    with pytest.raises(
        ValueError,
        match=rf"{side}x{side} images.*at least 64 and "
        r"divisible by 64",
    ):
        VAETransformer(architecture="xu2023", hidden_dims=(32, 64, 128)).fit(
            _images(side=side)
        )


@pytest.mark.parametrize(("side", "levels"), [(32, 3), (96, 5), (100, 2)])
def test_residual_network_halves_any_even_side(side, levels):
    vae = VAETransformer(n_latent=2, max_epochs=1, random_state=0)
    assert vae.fit(_images(side=side)).transform(_images(side=side)).shape == (4, 2)
    assert len(vae.hidden_dims_) == levels


def test_residual_network_refuses_an_odd_side():
    with pytest.raises(ValueError, match="9x9 images.*divisible by 2"):
        VAETransformer().fit(_images(side=9))


def test_smaller_encoder_allows_smaller_images():
    # Two blocks shrink by 16, so 32x32 images are fine.
    vae = VAETransformer(n_latent=2, hidden_dims=(8, 8), max_epochs=1, random_state=0)
    assert vae.fit(_images(side=32)).transform(_images(side=32)).shape == (4, 2)


def test_non_square_images():
    X = np.zeros((2, 3, 64, 128), dtype=np.float32)
    with pytest.raises(ValueError, match="64x128 images.*square"):
        VAETransformer().fit(X)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((0, 3, 64, 64), dtype=np.float32), "0 sample"),
        (np.zeros((0, 5)), "0 sample"),
        (np.zeros((3, 0)), "0 feature"),
    ],
)
def test_empty_input(X, match):
    with pytest.raises(ValueError, match=match):
        VAETransformer().fit(X)


def test_object_and_string_arrays():
    with pytest.raises(TypeError, match="dtype object.*numeric"):
        VAETransformer().fit(np.array([[1, "a"], [2, None]], dtype=object))
    with pytest.raises(TypeError, match="dtype <U1.*numeric"):
        VAETransformer().fit(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(TypeError, match="dtype bool"):
        VAETransformer().fit(np.ones((3, 4), dtype=bool))


def test_complex_input():
    with pytest.raises(ValueError, match="complex"):
        VAETransformer().fit(np.ones((3, 4), dtype=np.complex64))


def test_five_dimensional_input():
    with pytest.raises(ValueError, match="got a 5D array of shape"):
        VAETransformer().fit(np.zeros((2, 1, 3, 64, 64), dtype=np.float32))


def test_one_dimensional_input():
    with pytest.raises(ValueError, match="Reshape your data"):
        VAETransformer().fit(np.zeros(10))


def test_sparse_input():
    with pytest.raises(TypeError, match="Sparse data"):
        VAETransformer().fit(sp.csr_matrix(np.eye(4)))


@pytest.mark.parametrize("n_latent", [0, -3])
def test_n_latent_below_one(n_latent):
    with pytest.raises(ValueError, match="'n_latent' parameter.*range \\[1, inf\\)"):
        VAETransformer(n_latent=n_latent).fit(_images())


@pytest.mark.parametrize(
    "params, match",
    [
        ({"likelihood": "huber"}, "'likelihood' parameter"),
        ({"hidden_dims": ()}, "hidden_dims must be 'auto' or a non-empty"),
        ({"hidden_dims": (8, -1)}, "hidden_dims must be 'auto' or a non-empty"),
        ({"image_shape": (64, 64)}, "image_shape must be"),
        ({"device": "tpu:9"}, "not a torch device"),
        ({"precision": "fp8"}, "'precision' parameter"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        VAETransformer(**params).fit(_images())


def test_cuda_requested_without_cuda(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device"):
        VAETransformer(device="cuda").fit(_images())


def test_image_shape_must_match_image_input():
    with pytest.raises(
        ValueError, match=r"shape \(3, 64, 64\).*image_shape=\(1, 64, 64\)"
    ):
        VAETransformer(image_shape=(1, 64, 64)).fit(_images())
    # A consistent image_shape is fine for image input.
    vae = VAETransformer(n_latent=2, image_shape=(3, 64, 64), max_epochs=1)
    assert vae.fit(_images()).image_shape_ == (3, 64, 64)


def test_image_shape_mismatch_with_flat_rows():
    with pytest.raises(ValueError, match="12288 features per row.*needs 4096"):
        VAETransformer(image_shape=(1, 64, 64)).fit(np.zeros((2, 12288), np.float32))


def test_inverse_transform_checks_latent_width(fitted_vae):
    with pytest.raises(ValueError, match=r"shape \(n_samples, 4\).*got shape \(2, 3\)"):
        fitted_vae.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fitted_vae.inverse_transform(np.full((2, 4), np.nan))


def test_sample_count(fitted_vae):
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        fitted_vae.sample(0)


def test_unfitted():
    with pytest.raises(NotFittedError):
        VAETransformer().transform(_images())


def test_a_diverged_fit_stops_with_a_clear_error(small_vae, images):
    # Finite pixels whose squares would overflow float32 never reach training.
    with pytest.raises(ValueError, match="far from the scale"):
        small_vae(max_epochs=1).fit(images.astype(np.float32) * 1e25)
    # A learning rate far too large diverges, and is named as the cause.
    with pytest.raises(FloatingPointError, match=r"diverged in epoch \d+, batch"):
        small_vae(max_epochs=3, lr=1e4).fit(images)
