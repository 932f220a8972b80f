"""Raw survey flux streamed end to end: stretches inside the lazy path.

FITS files of the simulator's nanomaggy flux (what surveys serve) go through
``Pipeline([stretch, VAETransformer()])`` and ``encode_survey`` batch by batch:
the stretch is applied to each batch as it is read, never to the whole survey.
"""

import pickle

import numpy as np
import pytest
from astropy.io import fits
from astropy.visualization import LogStretch, ManualInterval
from PIL import Image
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import skgalvae.io._intake
from skgalvae import VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.io import FITSDataset, ImageFileDataset, TransformedImages
from skgalvae.preprocessing import (
    AstropyStretch,
    BandScaler,
    CenterCrop,
    MTFStretch,
    Resize,
)
from skgalvae.survey import encode_survey, read_latents

N_FILES = 80


@pytest.fixture(scope="module")
def raw_flux():
    """Simulated DECaLS cutouts in nanomaggies: negative sky, bright cores."""
    return make_galaxies(N_FILES, image_size=64, random_state=0).images


@pytest.fixture(scope="module")
def raw_paths(raw_flux, tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw_flux")
    paths = []
    for i, image in enumerate(raw_flux):
        path = folder / f"galaxy_{i:03d}.fits"
        fits.PrimaryHDU(image.astype(">f4")).writeto(path)  # as FITS stores it
        paths.append(str(path))
    return paths


class RecordingFITS(FITSDataset):
    """A FITSDataset that records how many rows each read asks for."""

    reads: list = []

    def read(self, indices):
        RecordingFITS.reads.append(len(np.asarray(indices).reshape(-1)))
        return super().read(indices)

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole survey was read into memory")


def _pipeline(n_latent=4, **params):
    vae = VAETransformer(
        n_latent=n_latent,
        hidden_dims=(8,),  # streaming, not the network, is under test
        max_epochs=1,
        batch_size=8,
        random_state=0,
        **params,
    )
    return make_pipeline(MTFStretch(), vae)


def test_a_pipeline_fits_raw_flux_files_batch_by_batch(
    raw_flux, raw_paths, monkeypatch
):
    # Scan the values 6 images at a time, as a survey larger than 64 MiB is.
    monkeypatch.setattr(
        skgalvae.io._intake, "_SCAN_CHUNK_BYTES", 6 * raw_flux[0].nbytes
    )
    RecordingFITS.reads = []
    streamed = _pipeline().fit(RecordingFITS(raw_paths))
    # Batches of 8, scans of 6, and the first 64 images, whose reconstruction
    # is monitored every epoch: never the whole survey.
    assert all(n <= 8 or n == 64 for n in RecordingFITS.reads)
    assert sum(n <= 8 for n in RecordingFITS.reads) >= N_FILES // 8
    stretched = streamed[0].transform(RecordingFITS(raw_paths))
    assert isinstance(stretched, TransformedImages)
    assert stretched.shape == (N_FILES, 3, 64, 64)

    in_memory = _pipeline().fit(raw_flux)
    np.testing.assert_allclose(
        streamed.transform(FITSDataset(raw_paths)),
        in_memory.transform(raw_flux),
        atol=1e-6,
    )


def test_raw_flux_without_a_stretch_is_refused(raw_paths):
    vae = VAETransformer(n_latent=2, max_epochs=1)
    with pytest.raises(ValueError, match="Stretch or scale it first"):
        vae.fit(FITSDataset(raw_paths))


@pytest.mark.slow  # starts reader processes
def test_reader_processes_read_and_stretch_the_batches(raw_flux, raw_paths):
    streamed = _pipeline().fit(FITSDataset(raw_paths, num_workers=2))
    in_memory = _pipeline().fit(raw_flux)
    np.testing.assert_allclose(
        streamed.transform(FITSDataset(raw_paths, num_workers=2)),
        in_memory.transform(raw_flux),
        atol=1e-6,
    )


def test_encode_survey_encodes_raw_flux_files_with_their_paths_as_ids(
    raw_flux, raw_paths, tmp_path
):
    pipe = _pipeline().fit(raw_flux)
    output = tmp_path / "latents.parquet"
    summary = encode_survey(pipe, raw_paths, output, batch_size=16, progress=False)
    assert (summary.n_encoded, summary.n_failed) == (N_FILES, 0)
    table = read_latents(output)
    assert list(table["id"]) == raw_paths
    np.testing.assert_allclose(
        table[[f"vae{i}" for i in range(4)]].to_numpy(),
        pipe.transform(raw_flux),
        atol=1e-5,
    )


def test_transformed_images_index_like_their_source(raw_flux, raw_paths):
    stretch = MTFStretch().fit(raw_flux)
    view = stretch.transform(FITSDataset(raw_paths))
    subset = view[[7, 2, 30]]
    assert isinstance(subset, TransformedImages) and len(subset) == 3
    assert list(subset.ids()) == [raw_paths[7], raw_paths[2], raw_paths[30]]
    np.testing.assert_allclose(
        np.asarray(subset), stretch.transform(raw_flux[[7, 2, 30]]), atol=1e-6
    )
    np.testing.assert_allclose(view[5], stretch.transform(raw_flux[5:6])[0], atol=1e-6)
    assert view[10:12].read([1]).shape == (1, 3, 64, 64)
    assert view.dtype == np.float32
    restored = pickle.loads(pickle.dumps(subset))
    np.testing.assert_array_equal(restored.read([0, 1]), subset.read([0, 1]))
    assert "through MTFStretch" in repr(subset)


def test_steps_chain_lazily_and_crops_keep_uint8(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        path = tmp_path / f"cutout_{i}.png"
        Image.fromarray(rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    pictures = ImageFileDataset(paths)
    chain = make_pipeline(CenterCrop(48), Resize(32))
    view = chain.fit_transform(pictures)
    assert isinstance(view, TransformedImages)
    assert isinstance(view.source, TransformedImages)  # crop, then resize
    assert view.shape == (5, 3, 32, 32) and view.dtype == np.uint8
    in_memory = clone(chain).fit_transform(np.asarray(pictures))
    np.testing.assert_array_equal(np.asarray(view), in_memory)


def test_an_image_the_stretch_cannot_take_is_named_by_its_file(tmp_path):
    paths = []
    for i in range(4):
        image = np.full((3, 16, 16), 1.0 + i, dtype=np.float32)
        image[:, 0, 0] = 0.0
        if i == 2:  # zero is the interval's lower limit everywhere, but
            image[1, 3, 3] = -1.0  # only here does a value fall below it
        path = tmp_path / f"cutout_{i}.fits"
        fits.PrimaryHDU(image).writeto(path)
        paths.append(str(path))
    stretch = AstropyStretch(LogStretch(), ManualInterval(vmin=0.0), clip=False)
    view = stretch.fit(FITSDataset(paths)).transform(FITSDataset(paths))
    np.testing.assert_array_equal(view.read([0, 1]).shape, (2, 3, 16, 16))
    with pytest.raises(ValueError, match=r"row 2 of the source \(.*cutout_2\.fits\)"):
        view.read([0, 1, 2, 3])


@pytest.mark.parametrize(
    "method, subsample", [("minmax", 2000), ("percentile", None), ("percentile", 7)]
)
def test_dataset_scaling_reads_files_in_chunks_or_a_sample(
    raw_flux, raw_paths, method, subsample
):
    params = dict(method=method, scope="dataset", subsample=subsample)
    RecordingFITS.reads = []
    from_files = BandScaler(**params).fit(RecordingFITS(raw_paths))
    from_array = BandScaler(**{**params, "subsample": None})
    if subsample == 7:  # 7 images evenly spaced through the survey
        rows = np.unique(np.linspace(0, N_FILES - 1, 7).astype(int))
        from_array.fit(raw_flux[rows])
        assert RecordingFITS.reads == [7]
    else:
        from_array.fit(raw_flux)
    np.testing.assert_allclose(from_files.low_, from_array.low_, rtol=1e-6)
    np.testing.assert_allclose(from_files.high_, from_array.high_, rtol=1e-6)


def test_any_transformer_gives_its_dtype_on_any_subset(raw_flux, raw_paths):
    from sklearn.preprocessing import FunctionTransformer

    doubled = FunctionTransformer(lambda x: x.astype(np.float64) * 2)
    view = TransformedImages(FITSDataset(raw_paths), doubled)
    subset = view[[N_FILES - 1, 3]]  # its positions are 0 and 1, not its rows
    assert subset.dtype == np.float64
    np.testing.assert_allclose(subset.read([1]), raw_flux[[3]] * 2, rtol=1e-6)
