"""Reading cutouts: FITS (big-endian, per-band, HDUs, NaN), JPEG/PNG, lazy sets."""

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image
from sklearn.model_selection import GridSearchCV

from skgalvae import VAETransformer
from skgalvae.exceptions import NonFiniteFilledWarning
from skgalvae.io import (
    FITSDataset,
    ImageFileDataset,
    LazyImages,
    lazy_from_paths,
    path_format,
    read_fits,
    read_images,
    read_path_list,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "decals_fits"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason="real DECaLS FITS cutouts (../shared/data) not present"
)


def _cube(seed, shape=(3, 72, 72)):
    return np.random.default_rng(seed).normal(size=shape).astype(">f4")


@pytest.fixture
def cubes(tmp_path):
    paths = []
    for i in range(6):
        path = tmp_path / f"cutout_{i}.fits"
        fits.PrimaryHDU(_cube(i)).writeto(path)
        paths.append(path)
    return paths


def test_big_endian_cubes_become_native_float32(cubes):
    images = read_fits(cubes)
    assert images.shape == (6, 3, 72, 72)
    assert images.dtype == np.float32 and images.dtype.isnative
    np.testing.assert_array_equal(images[2], _cube(2))
    import torch

    assert torch.from_numpy(images).shape == (6, 3, 72, 72)


def test_per_band_files_by_pattern(tmp_path):
    cube = _cube(0)
    for band, plane in zip("grz", cube, strict=True):
        fits.PrimaryHDU(plane).writeto(tmp_path / f"gal_{band}.fits")
    images = read_fits([tmp_path / "gal_{band}.fits"], bands=("g", "r", "z"))
    np.testing.assert_array_equal(images[0], cube)
    flipped = read_fits([tmp_path / "gal_{band}.fits"], bands=("z", "g"))
    np.testing.assert_array_equal(flipped[0], cube[[2, 0]])
    with pytest.raises(ValueError, match="no bands were given"):
        read_fits([tmp_path / "gal_{band}.fits"])
    with pytest.raises(FileNotFoundError, match="gal_i.fits"):
        read_fits([tmp_path / "gal_{band}.fits"], bands=("g", "i"))


def test_hdu_choice(tmp_path):
    path = tmp_path / "ext.fits"
    cube = _cube(1)
    fits.HDUList(
        [fits.PrimaryHDU(), fits.ImageHDU(cube, name="IMAGE"), fits.ImageHDU(-cube)]
    ).writeto(path)
    np.testing.assert_array_equal(read_fits(path)[0], cube)  # first with data
    np.testing.assert_array_equal(read_fits(path, hdu="IMAGE")[0], cube)
    np.testing.assert_array_equal(read_fits(path, hdu=2)[0], -cube)
    with pytest.raises(ValueError, match=r"ext.fits has no HDU 'MASK'.*IMAGE"):
        read_fits(path, hdu="MASK")
    with pytest.raises(ValueError, match="HDU 0 of .*ext.fits holds no data"):
        read_fits(path, hdu=0)


def test_crop_and_resample(cubes):
    cube = _cube(0)
    cropped = read_fits(cubes[:1], size=64)
    np.testing.assert_array_equal(cropped[0], cube[:, 4:68, 4:68])
    area = read_fits(cubes[:1], size=36, resize="area")
    expected = cube.astype(np.float32).reshape(3, 36, 2, 36, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(area[0], expected, rtol=1e-5, atol=1e-6)
    bilinear = read_fits(cubes[:1], size=128, resize="bilinear")
    assert bilinear.shape == (1, 3, 128, 128)
    with pytest.raises(
        ValueError, match="cutout_0.fits is 72x72, smaller than size=128"
    ):
        read_fits(cubes[:1], size=128)


def test_mixed_sizes_name_the_odd_file(cubes, tmp_path):
    odd = tmp_path / "odd.fits"
    fits.PrimaryHDU(_cube(9, (3, 50, 50))).writeto(odd)
    with pytest.raises(ValueError, match=r"odd.fits has shape \(3, 50, 50\).*size="):
        read_fits([*cubes[:2], odd])
    assert read_fits([*cubes[:2], odd], size=48).shape == (3, 3, 48, 48)


def test_nan_policy(tmp_path):
    cube = _cube(3)
    cube[1, 10:12, 20:25] = np.nan
    path = tmp_path / "masked.fits"
    fits.PrimaryHDU(cube).writeto(path)
    with pytest.raises(ValueError, match=r"masked.fits has 10 NaN pixel\(s\)"):
        read_fits([path])
    with pytest.warns(NonFiniteFilledWarning, match=r"masked.fits: filled 10 NaN"):
        filled = read_fits([path], nan_policy=0.0)
    assert np.isfinite(filled).all() and (filled[0, 1, 10:12, 20:25] == 0).all()
    np.testing.assert_array_equal(filled[0, 0], cube[0])
    cube[0, 0, 0] = np.inf
    inf_path = tmp_path / "inf.fits"
    fits.PrimaryHDU(cube).writeto(inf_path)
    with pytest.raises(ValueError, match="1 infinite"):
        read_fits([inf_path], nan_policy=0.0)
    with pytest.raises(ValueError, match="nan_policy must be 'raise' or a finite"):
        read_fits([path], nan_policy="zero")


def test_missing_and_truncated_files_are_named(cubes, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.fits"):
        read_fits([tmp_path / "nowhere.fits"])
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(Path(cubes[0]).read_bytes()[:40_000])
    with pytest.raises(OSError, match="truncated.fits: the file is truncated"):
        read_fits([cubes[1], truncated])
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"not a fits file at all" * 200)
    with pytest.raises(OSError, match="junk.fits"):
        read_fits([junk])


@needs_real
def test_real_decals_cutouts():
    paths = sorted(REAL.glob("example_[a-e].fits")) + [REAL / "example_bad_pix.fits"]
    images = read_fits(paths)
    assert images.shape == (6, 3, 424, 424) and images.dtype.isnative
    np.testing.assert_array_equal(images[0], fits.getdata(paths[0]).astype(np.float32))
    # The bad-pixel example has masked (zero) regions in g and r.
    assert (images[5, 0] == 0).mean() > 0.5
    with pytest.raises(OSError, match="example_incomplete.fits"):
        read_fits([REAL / "example_incomplete.fits"])
    with pytest.raises(OSError, match="example_incomplete.fits"):
        FITSDataset([paths[0], REAL / "example_incomplete.fits"]).read([1])


def test_jpeg_and_png(tmp_path):
    y, x = np.mgrid[:40, :40]
    smooth = np.stack([4 * x, 4 * y, 2 * (x + y)], axis=-1)  # JPEG-friendly
    rgb = smooth.clip(0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(rgb).save(tmp_path / "b.jpg", quality=95)
    images = read_images([tmp_path / "a.png", tmp_path / "b.jpg"])
    assert images.shape == (2, 3, 40, 40) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[0], rgb.transpose(2, 0, 1))  # lossless
    assert np.abs(images[1].astype(int) - images[0]).mean() < 3  # lossy
    grey = read_images([tmp_path / "a.png"], mode="L", size=20, resize="area")
    assert grey.shape == (1, 1, 20, 20) and grey.dtype == np.uint8
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"0" * 50)
    with pytest.raises(OSError, match="broken.jpg"):
        read_images([tmp_path / "broken.jpg"])


def test_lazy_indexing_reads_nothing_until_asked(cubes, tmp_path):
    lazy = FITSDataset([*cubes, tmp_path / "missing.fits"], size=64)
    assert len(lazy) == 7 and lazy.shape == (7, 3, 64, 64) and lazy.ndim == 4
    subset = lazy[np.array([0, 6, 2])]  # no file read yet
    assert isinstance(subset, FITSDataset) and len(subset) == 3
    with pytest.raises(FileNotFoundError, match="missing.fits"):
        np.asarray(subset)
    head = lazy[:3]
    np.testing.assert_array_equal(np.asarray(head), read_fits(cubes[:3], size=64))
    assert lazy[(np.array([1, 2]), Ellipsis)].items == lazy.items[1:3]
    assert lazy[np.arange(7) < 2].items == lazy.items[:2]
    np.testing.assert_array_equal(lazy[4], read_fits(cubes[4], size=64)[0])
    clone = pickle.loads(pickle.dumps(head))
    np.testing.assert_array_equal(np.asarray(clone), np.asarray(head))


class CountingImages(LazyImages):
    """An in-memory store read through the lazy protocol, recording reads."""

    def __init__(self, array, reads=None):
        super().__init__(range(len(array)))
        self.array = array
        self.reads = reads if reads is not None else []

    @property
    def dtype(self):
        return self.array.dtype

    def read_one(self, item):
        return self.array[item]

    def read(self, indices):
        self.reads.append(len(np.atleast_1d(indices)))
        return super().read(indices)

    def _with_items(self, items):
        sub = CountingImages(self.array, self.reads)
        sub.items = list(items)
        return sub


def test_fit_streams_in_batches_and_matches_in_memory(monkeypatch):
    from skgalvae.io import _intake as _input

    rng = np.random.default_rng(0)
    images = rng.random((96, 3, 64, 64), dtype=np.float32)
    # Scan the values for the fit range 8 images at a time.
    monkeypatch.setattr(_input, "_SCAN_CHUNK_BYTES", 8 * images[0].nbytes)
    lazy = CountingImages(images)
    params = dict(
        n_latent=3, hidden_dims=(8,), max_epochs=2, batch_size=16, random_state=0
    )
    vae_lazy = VAETransformer(**params).fit(lazy)
    # Batches of 16, scan chunks of 8, and the SSIM monitor's 64 images: never
    # the whole set.
    assert max(lazy.reads) == 64 and sorted(set(lazy.reads)) == [8, 16, 64]
    z_lazy = vae_lazy.transform(lazy)
    z_mem = VAETransformer(**params).fit(images).transform(images)
    np.testing.assert_array_equal(z_lazy, z_mem)


@pytest.mark.slow
def test_fits_dataset_with_workers_and_grid_search(tmp_path):
    rng = np.random.default_rng(1)
    paths = []
    for i in range(40):
        path = tmp_path / f"g{i}.fits"
        fits.PrimaryHDU(rng.random((3, 64, 64)).astype(">f4")).writeto(path)
        paths.append(path)
    lazy = FITSDataset(paths, num_workers=2)
    in_memory = read_fits(paths)
    params = dict(n_latent=2, max_epochs=1, batch_size=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no byte-order or fork warnings
        z_lazy = VAETransformer(**params).fit(lazy).transform(lazy)
    z_mem = VAETransformer(**params).fit(in_memory).transform(in_memory)
    np.testing.assert_array_equal(z_lazy, z_mem)

    grid = {"n_latent": [2, 3]}
    search_lazy = GridSearchCV(VAETransformer(**params), grid, cv=2).fit(lazy)
    search_mem = GridSearchCV(VAETransformer(**params), grid, cv=2).fit(in_memory)
    np.testing.assert_allclose(
        search_lazy.cv_results_["mean_test_score"],
        search_mem.cv_results_["mean_test_score"],
        rtol=1e-6,
    )


def test_image_file_dataset_fits_as_uint8(tmp_path):
    rng = np.random.default_rng(2)
    paths = []
    for i in range(12):
        path = tmp_path / f"g{i}.png"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    lazy = ImageFileDataset(paths)
    assert lazy.dtype == np.uint8 and lazy.shape == (12, 3, 64, 64)
    vae = VAETransformer(n_latent=2, max_epochs=1, batch_size=4, random_state=0)
    vae.fit(lazy)
    assert vae.pixel_scale_ == 255.0
    np.testing.assert_array_equal(
        vae.transform(lazy), vae.transform(read_images(paths))
    )


def test_estimators_take_path_lists(cubes, tmp_path):
    paths = [str(p) for p in cubes]
    params = dict(n_latent=2, max_epochs=1, batch_size=4, random_state=0)
    cropped = FITSDataset(paths, size=64)
    np.testing.assert_array_equal(np.asarray(lazy_from_paths(paths)), read_fits(paths))
    # 72x72 cutouts do not suit the study's three blocks: the error names X.
    with pytest.raises(ValueError, match="X holds 72x72 images"):
        VAETransformer(**params, architecture="xu2023", hidden_dims=(8, 8, 8)).fit(
            np.array(paths)
        )
    small = []
    for i, image in enumerate(np.asarray(cropped)):
        path = tmp_path / f"small_{i}.fits"
        fits.PrimaryHDU(image).writeto(path)
        small.append(path)
    z_paths = (
        VAETransformer(**params).fit(np.array(small, dtype=object)).transform(small)
    )
    z_memory = (
        VAETransformer(**params).fit(read_fits(small)).transform(read_fits(small))
    )
    np.testing.assert_array_equal(z_paths, z_memory)
    with pytest.raises(ValueError, match="Cannot tell the format of 'notes.txt'"):
        VAETransformer(**params).fit(["notes.txt"])
    with pytest.raises(
        ValueError, match="mix formats: .* is a FITS cutout and 'a.png' a JPEG/PNG"
    ):
        lazy_from_paths([paths[0], "a.png"])


@pytest.mark.parametrize(
    "path, kind",
    [
        ("a/cutout.FITS", "fits"),
        ("cutout.fits.fz", "fits"),
        ("g.JPEG", "image"),
        ("survey.zarr/", "zarr"),
        ("survey.h5", "hdf5"),
        ("cutouts.txt", "path list"),
    ],
)
def test_path_format_reads_the_suffix_once_for_everyone(path, kind):
    assert path_format(path) == kind


def test_path_format_names_the_path_and_what_it_accepts():
    with pytest.raises(ValueError) as info:
        path_format("survey.zarr", allowed=("fits", "image"))
    message = str(info.value)
    assert "'survey.zarr'" in message
    assert ".fits.gz" in message and ".png" in message and ".h5" not in message


def test_a_path_list_is_read_relative_to_itself_and_opened_lazily(cubes, tmp_path):
    from skgalvae.io._sources import open_source

    listing = tmp_path / "lists" / "cutouts.txt"
    listing.parent.mkdir()
    listing.write_text(f"# two cutouts\n../{cubes[1].name}\n  ../{cubes[0].name}  \n\n")
    paths = read_path_list(listing)
    assert [os.path.basename(p) for p in paths] == [cubes[1].name, cubes[0].name]
    assert all(os.path.isabs(p) for p in paths)
    reader, container = open_source(str(listing))
    assert container is None and reader.n_rows == 2
    np.testing.assert_array_equal(
        reader.read(0, 2).images, read_fits([cubes[1], cubes[0]])
    )
    with pytest.raises(ValueError, match="lists files"):
        open_source(str(listing), key="images")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="empty.txt lists no cutout path"):
        read_path_list(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="Cannot tell the format of 'cat.csv'"):
        open_source("cat.csv")


class _NpyCutouts(LazyImages):
    """A user's own cutout format: one ``.cube`` file (a saved array) per galaxy."""

    @property
    def dtype(self):
        return np.dtype(np.float32)

    def read_one(self, item):
        with open(item, "rb") as handle:
            return np.load(handle)

    def _with_items(self, items):
        return _NpyCutouts(items)


def test_a_registered_cutout_format_is_read_by_name_everywhere(tmp_path, images):
    from skgalvae.io import FORMATS, register_format
    from skgalvae.io._sources import open_source

    paths = []
    for i, image in enumerate(images[:24]):
        path = tmp_path / f"galaxy_{i}.CUBE"  # suffixes match whatever their case
        with open(path, "wb") as handle:
            np.save(handle, image)
        paths.append(str(path))
    (tmp_path / "cutouts.txt").write_text("\n".join(p.rsplit("/", 1)[1] for p in paths))
    register_format("cube", (".cube",), "a saved cutout array", _NpyCutouts)
    try:
        assert path_format(paths[0]) == "cube"
        collection = lazy_from_paths(paths)
        assert isinstance(collection, _NpyCutouts) and collection.shape == (
            24,
            3,
            64,
            64,
        )
        vae = VAETransformer(n_latent=2, max_epochs=1, batch_size=8, random_state=0)
        np.testing.assert_array_equal(
            vae.fit(paths).transform(paths), vae.transform(images[:24])
        )
        reader, _ = open_source(tmp_path / "cutouts.txt")
        np.testing.assert_array_equal(reader.data.read([3]), images[3:4])
        with pytest.raises(ValueError, match="'a.png' a JPEG/PNG cutout"):
            lazy_from_paths([paths[0], "a.png"])
    finally:
        del FORMATS["cube"]
    with pytest.raises(ValueError, match="Cannot tell the format"):
        lazy_from_paths(paths)


def test_register_format_refuses_what_would_match_the_wrong_files():
    from skgalvae.io import FORMATS, register_format

    with pytest.raises(ValueError, match=r"each starting with '\.'.*got '\.cube'"):
        register_format("cube", ".cube", "a saved cutout array")  # not a tuple
    with pytest.raises(ValueError, match="got \\('cube',\\)"):
        register_format("cube", ("cube",), "a saved cutout array")
    with pytest.raises(TypeError, match="got str"):
        register_format("cube", (".cube",), "a saved cutout array", "CubeFiles")
    assert "cube" not in FORMATS
