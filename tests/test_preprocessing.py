"""Per-band scaling and stretches: values, shapes, the scikit-learn contract."""

import pickle

import numpy as np
import pytest
from astropy.visualization import AsinhStretch as AstropyAsinh
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgalvae import VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.preprocessing import (
    AsinhStretch,
    AstropyStretch,
    BandScaler,
    CenterCrop,
    MTFStretch,
    Resize,
    midtone_transfer,
)


@pytest.fixture(scope="module")
def galaxies():
    return make_galaxies(24, random_state=0).images


def test_band_scaler_per_image(galaxies):
    out = BandScaler().fit_transform(galaxies)
    assert out.shape == galaxies.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.min(axis=(2, 3)), 0.0, atol=1e-7)
    np.testing.assert_allclose(out.max(axis=(2, 3)), 1.0, atol=1e-6)
    # A constant band maps to 0, not NaN.
    flat = galaxies[:2].copy()
    flat[0, 1] = 3.0
    assert (BandScaler().fit_transform(flat)[0, 1] == 0).all()


def test_band_scaler_percentiles_clip_only_when_asked(galaxies):
    scaler = BandScaler(method="percentile", percentiles=(5, 95))
    out = scaler.fit_transform(galaxies)
    assert out.min() < 0 and out.max() > 1  # nothing clipped silently
    low, high = np.percentile(galaxies[3, 2], [5, 95])
    np.testing.assert_allclose(
        out[3, 2], (galaxies[3, 2] - low) / (high - low), rtol=1e-5, atol=1e-6
    )
    clipped = scaler.set_params(clip=True).fit_transform(galaxies)
    assert clipped.min() == 0 and clipped.max() == 1


def test_band_scaler_dataset_scope_learns_one_range_per_band(galaxies):
    scaler = BandScaler(scope="dataset").fit(galaxies[:16])
    np.testing.assert_allclose(scaler.low_, galaxies[:16].min(axis=(0, 2, 3)))
    np.testing.assert_allclose(scaler.high_, galaxies[:16].max(axis=(0, 2, 3)))
    out = scaler.transform(galaxies[16:])
    expected = (galaxies[16:, 0] - scaler.low_[0]) / (scaler.high_[0] - scaler.low_[0])
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_midtone_transfer_properties():
    x = np.linspace(0, 1, 11)
    np.testing.assert_allclose(midtone_transfer(0.5, x), x)
    assert midtone_transfer(0.2, 0.2) == pytest.approx(0.5)
    assert midtone_transfer(0.2, 0.0) == 0 and midtone_transfer(0.2, 1.0) == 1
    m = midtone_transfer(0.125, 0.03)
    assert midtone_transfer(m, 0.03) == pytest.approx(0.125)


def test_mtf_stretch_puts_the_median_at_one_eighth(galaxies):
    out = MTFStretch().fit_transform(galaxies)
    assert out.dtype == np.float32 and out.shape == galaxies.shape
    medians = np.median(out.reshape(24, 3, -1), axis=-1)
    np.testing.assert_allclose(medians, 0.125, atol=2e-3)
    assert out.min() == 0 and out.max() == pytest.approx(1.0)
    # The darkest 0.1% (at least) are clipped to 0; the order of the rest stays.
    assert ((out == 0).reshape(24, 3, -1).mean(axis=-1) >= 0.001 - 1e-9).all()
    rho = spearmanr(galaxies[5, 1].ravel(), out[5, 1].ravel()).statistic
    assert rho > 0.999
    # Faint structure is lifted: the stretch is concave above the median.
    scaled = BandScaler().fit_transform(galaxies)
    assert np.median(out) > 3 * np.median(scaled)


def test_mtf_stretch_degenerate_bands():
    images = np.zeros((2, 2, 16, 16), dtype=np.float32)
    images[0, 0] = 5.0  # constant
    images[1, 1, :2] = 1.0  # mostly empty: median at the shadow level
    out = MTFStretch().fit_transform(images)
    assert np.isfinite(out).all()
    assert (out[0, 0] == 0).all()
    np.testing.assert_array_equal(out[1, 1], images[1, 1])  # rescaled only


def test_asinh_matches_astropy_and_keeps_range(galaxies):
    scaled = BandScaler().fit_transform(galaxies)
    out = AsinhStretch(a=0.05).fit_transform(scaled)
    np.testing.assert_allclose(
        out, AstropyAsinh(a=0.05)(scaled.astype(np.float64)), rtol=1e-5, atol=1e-7
    )
    assert out.min() == 0 and out.max() == pytest.approx(1.0)
    assert np.median(out) > np.median(scaled)


def test_single_band_layout_is_kept(galaxies):
    grey = galaxies[:, 1]
    for transformer in (BandScaler(), MTFStretch(), AsinhStretch()):
        out = transformer.fit_transform(grey)
        assert out.shape == grey.shape


def test_errors_name_the_problem(galaxies):
    with pytest.raises(ValueError, match="works on images.*shape \\(24, 12\\)"):
        MTFStretch().fit(np.zeros((24, 12)))
    fitted = BandScaler().fit(galaxies)
    with pytest.raises(
        ValueError, match="X has 1 band\\(s\\), but BandScaler was fitted on 3"
    ):
        fitted.transform(galaxies[:, :1])
    bad = galaxies.copy()
    bad[7, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN.*sample 7"):
        MTFStretch().fit_transform(bad)
    with pytest.raises(InvalidParameterError, match="target_median"):
        MTFStretch(target_median=1.5).fit(galaxies)
    with pytest.raises(ValueError, match="0 <= low < high <= 100"):
        BandScaler(method="percentile", percentiles=(90, 10)).fit_transform(galaxies)


def test_pipeline_clone_and_pickle(galaxies):
    pipe = make_pipeline(
        MTFStretch(),
        VAETransformer(n_latent=3, max_epochs=1, batch_size=8, random_state=0),
    )
    z = pipe.fit_transform(galaxies)
    assert z.shape == (24, 3)
    assert clone(pipe).get_params()["mtfstretch__target_median"] == 0.125
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(
        restored.transform(galaxies), pipe.transform(galaxies)
    )


@pytest.mark.parametrize(
    "transformer",
    [
        BandScaler(method="percentile", scope="dataset"),
        AsinhStretch(a=0.2),
        MTFStretch(),
        CenterCrop(32),
        Resize(16),
    ],
    ids=lambda t: type(t).__name__,
)
def test_scikit_learn_contract(transformer, galaxies):
    # scikit-learn's own checks skip image-only estimators, so the contract's
    # parts that apply are checked here.
    from sklearn.exceptions import NotFittedError

    params = transformer.get_params()
    unfitted = clone(transformer)
    assert unfitted.get_params() == params
    assert not [k for k in vars(unfitted) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        unfitted.transform(galaxies)
    assert unfitted.fit(galaxies) is unfitted
    assert unfitted.n_bands_in_ == 3
    assert unfitted.get_params() == params  # fit leaves the parameters alone
    tags = unfitted.__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
    first = unfitted.transform(galaxies)
    np.testing.assert_array_equal(first, unfitted.transform(galaxies))
    np.testing.assert_array_equal(
        first, pickle.loads(pickle.dumps(unfitted)).transform(galaxies)
    )


def test_center_crop_keeps_the_central_pixels_and_the_dtype():
    X = np.arange(2 * 3 * 9 * 9).reshape(2, 3, 9, 9).astype(np.uint8)
    out = CenterCrop(3).fit_transform(X)
    assert out.shape == (2, 3, 3, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, X[:, :, 3:6, 3:6])
    single = CenterCrop(3).fit_transform(X[:, 0].astype(np.float64))
    assert single.shape == (2, 3, 3) and single.dtype == np.float32
    with pytest.raises(ValueError, match="smaller than CenterCrop's size=10"):
        CenterCrop(10).fit(X)
    with pytest.raises(InvalidParameterError, match="size"):
        CenterCrop(0).fit(X)


@pytest.mark.parametrize("method", ["area", "bilinear"])
def test_resize_shrinks_without_aliasing(method):
    # A one-pixel checkerboard: any aliasing shrink shows a pattern of its own.
    grid = np.indices((96, 96)).sum(axis=0) % 2
    X = np.repeat(grid[None, None], 2, axis=0).astype(np.float32)
    out = Resize(20, method=method).fit_transform(X)
    assert out.shape == (2, 1, 20, 20) and out.dtype == np.float32
    assert np.abs(out - 0.5).max() < 0.1  # the mean grey, not stripes
    uint8 = Resize(20, method=method).fit_transform((X * 255).astype(np.uint8))
    assert uint8.dtype == np.uint8 and abs(int(uint8.mean()) - 127) <= 2


def test_crop_and_resize_sit_in_a_pipeline_in_front_of_the_vae(galaxies):
    pipe = make_pipeline(
        CenterCrop(48),
        Resize(32),
        MTFStretch(),
        VAETransformer(n_latent=2, max_epochs=1, batch_size=8, random_state=0),
    )
    assert pipe.fit_transform(galaxies).shape == (24, 2)
    assert pipe[:3].transform(galaxies).shape == (24, 3, 32, 32)
    names = pipe[:2].get_feature_names_out()
    assert len(names) == 3 * 32 * 32 and names[0] == "pixel0"


def test_crop_and_resize_read_lazy_collections_of_files(tmp_path):
    from PIL import Image

    from skgalvae.io import ImageFileDataset

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (4, 60, 60, 3), dtype=np.uint8)
    paths = []
    for i, image in enumerate(pixels):
        paths.append(tmp_path / f"cutout_{i}.png")
        Image.fromarray(image).save(paths[-1])
    lazy = ImageFileDataset(paths)
    cropped = CenterCrop(20).fit_transform(lazy)
    np.testing.assert_array_equal(
        cropped, pixels.transpose(0, 3, 1, 2)[:, :, 20:40, 20:40]
    )
    assert Resize(15).fit_transform(lazy).shape == (4, 3, 15, 15)


# scikit-learn's checks generate 2-d data; these steps declare image input
# (their tags), so the checks that apply are those of the estimator API.
@parametrize_with_checks(
    [
        BandScaler(),
        AsinhStretch(),
        MTFStretch(),
        AstropyStretch(),
        CenterCrop(2),
        Resize(2),
    ]
)
def test_sklearn_compatible_image_step(estimator, check):
    check(estimator)
