"""encode_survey and encode_dask: out-of-core, resumable encoding of a survey."""

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from sklearn.pipeline import make_pipeline

from skgalvae.exceptions import UnreadableRowsWarning
from skgalvae.preprocessing import AsinhStretch
from skgalvae.survey import encode_dask, encode_survey, read_latents

zarr = pytest.importorskip("zarr")
h5py = pytest.importorskip("h5py")
da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def survey(images):
    """The session's 96 blob images as float32, the survey to encode."""
    return np.asarray(images, dtype=np.float32)


@pytest.fixture(scope="module")
def reference(fitted_vae, survey):
    return fitted_vae.transform(survey)


def _latent_columns(frame, n_latent):
    return frame[[f"vae{i}" for i in range(n_latent)]].to_numpy()


@pytest.mark.parametrize("suffix", [".zarr", ".parquet"])
def test_store_round_trip_equals_in_memory_transform(
    fitted_vae, survey, reference, tmp_path, suffix
):
    output = tmp_path / f"latents{suffix}"
    summary = encode_survey(
        fitted_vae, survey, output, batch_size=40, std=True, progress=False
    )
    assert (summary.n_rows, summary.n_encoded, summary.n_resumed) == (96, 96, 0)
    assert summary.n_failed == 0 and summary.images_per_second > 0
    frame = read_latents(output)
    assert list(frame["id"]) == list(range(96))
    np.testing.assert_allclose(_latent_columns(frame, 4), reference, atol=1e-5)
    std = frame[[f"vae{i}_std" for i in range(4)]].to_numpy()
    np.testing.assert_allclose(std, fitted_vae.transform_std(survey), rtol=1e-5)
    assert (frame["error"] == "").all()
    if suffix == ".parquet":  # the directory is a plain parquet dataset
        assert len(pd.read_parquet(output)) == 96


def test_zarr_and_hdf5_paths_with_ids_from_the_store(
    fitted_vae, survey, reference, tmp_path
):
    catalogue_ids = np.arange(1000, 1096)
    group = zarr.open_group(str(tmp_path / "survey.zarr"), mode="w")
    group.create_array("images", data=survey, chunks=(10, 3, 64, 64))
    group.create_array("objid", data=catalogue_ids)
    with h5py.File(tmp_path / "survey.h5", "w") as handle:
        handle["images"] = survey
        handle["objid"] = catalogue_ids
    for name in ("survey.zarr", "survey.h5"):
        output = tmp_path / f"from_{name}.parquet"
        encode_survey(
            fitted_vae,
            tmp_path / name,
            output,
            key="images",
            ids="objid",
            batch_size=50,
            progress=False,
        )
        frame = read_latents(output)
        np.testing.assert_array_equal(frame["id"], catalogue_ids)
        np.testing.assert_allclose(_latent_columns(frame, 4), reference, atol=1e-5)
    with pytest.raises(ValueError, match="pass key="):
        encode_survey(fitted_vae, tmp_path / "survey.zarr", tmp_path / "x.zarr")
    with pytest.raises(KeyError, match="no such array"):
        encode_survey(
            fitted_vae,
            tmp_path / "survey.zarr",
            tmp_path / "y.zarr",
            key="images",
            ids="missing",
        )


def test_unreadable_rows_are_kept_reported_by_id_and_not_dropped(
    fitted_vae, survey, reference, tmp_path
):
    paths = []
    for i in range(12):
        path = tmp_path / f"gal{i:02d}.fits"
        fits.PrimaryHDU(survey[i]).writeto(path)
        paths.append(str(path))
    with open(paths[0], "wb") as handle:  # the first file, which sets the shape
        handle.write(b"not a FITS file")
    os.remove(paths[8])
    nan_cube = survey[10].copy()
    nan_cube[1, 5, 5] = np.nan
    fits.PrimaryHDU(nan_cube).writeto(paths[10], overwrite=True)
    with pytest.warns(UnreadableRowsWarning, match="3 rows"):
        summary = encode_survey(
            fitted_vae,
            paths,
            tmp_path / "files.zarr",
            batch_size=5,
            progress=False,
        )
    assert set(summary.failures) == {paths[0], paths[8], paths[10]}
    assert "NaN" in summary.failures[paths[10]]
    assert paths[8] in str(summary) and "could not be read" in str(summary)
    frame = read_latents(tmp_path / "files.zarr")
    assert list(frame["id"]) == paths  # every row kept, in order
    bad = frame["error"] != ""
    assert list(np.flatnonzero(bad)) == [0, 8, 10]
    assert np.isnan(_latent_columns(frame, 4)[bad]).all()
    np.testing.assert_allclose(
        _latent_columns(frame, 4)[~bad], reference[:12][~bad.to_numpy()], atol=1e-5
    )


def test_pipeline_and_generic_transformers(fitted_vae, survey, tmp_path):
    stretch = AsinhStretch().fit(survey)
    pipe = make_pipeline(stretch, fitted_vae)
    encode_survey(pipe, survey, tmp_path / "pipe.zarr", std=True, progress=False)
    frame = read_latents(tmp_path / "pipe.zarr")
    np.testing.assert_allclose(
        _latent_columns(frame, 4), pipe.transform(survey), atol=1e-5
    )
    with pytest.raises(TypeError, match="std=True needs a skgalvae VAE"):
        encode_survey(stretch, survey, tmp_path / "s.zarr", std=True)


def test_resuming_checks_the_output_belongs_to_this_run(
    fitted_vae, small_vae, survey, tmp_path
):
    output = tmp_path / "latents.zarr"
    encode_survey(fitted_vae, survey, output, batch_size=32, progress=False)
    again = encode_survey(fitted_vae, survey, output, progress=False)
    assert (again.n_encoded, again.n_resumed) == (0, 96)
    with pytest.raises(ValueError, match="batch_size=32"):
        encode_survey(fitted_vae, survey, output, batch_size=16, progress=False)
    with pytest.raises(ValueError, match="holds 96 rows"):
        encode_survey(fitted_vae, survey[:50], output, progress=False)
    other = small_vae(random_state=1).fit(survey)
    with pytest.raises(ValueError, match="another model"):
        encode_survey(other, survey, output, progress=False)
    with pytest.raises(ValueError, match="another source: its ids differ"):
        encode_survey(fitted_vae, survey, output, ids=np.arange(96) + 5)
    fresh = encode_survey(other, survey, output, overwrite=True, progress=False)
    assert fresh.n_encoded == 96
    with pytest.raises(ValueError, match="end it in"):
        encode_survey(fitted_vae, survey, tmp_path / "latents.csv")


_KILLED_RUN = """
import sys, time
import joblib, numpy as np, zarr
from skgalvae.survey import encode_survey

class SlowDisk:
    # A zarr array that reads slowly, so the parent can kill mid-way.
    def __init__(self, array):
        self.array, self.shape, self.ndim = array, array.shape, array.ndim
    def __getitem__(self, key):
        time.sleep(0.15)
        return self.array[key]

model_path, store_path, output = sys.argv[1:]
vae = joblib.load(model_path)
source = SlowDisk(zarr.open_array(store_path, mode="r"))
encode_survey(vae, source, output, batch_size=8, progress=False)
"""


def _n_committed(output):
    """Chunks committed so far: zarr done flags, or parquet part files."""
    if output.suffix == ".parquet":
        return len(list(output.glob("part-*.parquet")))
    if not (output / "done").exists():
        return 0
    return int(zarr.open_group(str(output), mode="r")["done"][:].sum())


@pytest.mark.parametrize("suffix", [".zarr", ".parquet"])
@pytest.mark.slow
def test_a_killed_run_resumes_without_duplicates_or_gaps(
    fitted_vae, survey, reference, tmp_path, suffix
):
    import joblib

    joblib.dump(fitted_vae, tmp_path / "vae.joblib")
    zarr.create_array(str(tmp_path / "survey.zarr"), data=survey, chunks=(8, 3, 64, 64))
    output = tmp_path / f"latents{suffix}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _KILLED_RUN,
            str(tmp_path / "vae.joblib"),
            str(tmp_path / "survey.zarr"),
            str(output),
        ]
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if _n_committed(output) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before the kill"
    n_done = _n_committed(output)
    assert 3 <= n_done < 12
    assert len(read_latents(output)) == 8 * n_done  # committed chunks only

    resumed = encode_survey(
        fitted_vae, tmp_path / "survey.zarr", output, progress=False
    )
    assert resumed.n_resumed == 8 * n_done
    assert resumed.n_encoded + resumed.n_resumed == 96  # no row twice, none skipped
    frame = read_latents(output)
    assert list(frame["id"]) == list(range(96))
    np.testing.assert_allclose(_latent_columns(frame, 4), reference, atol=1e-5)


def test_a_partial_parquet_write_is_redone(fitted_vae, survey, reference, tmp_path):
    output = tmp_path / "latents.parquet"
    encode_survey(fitted_vae, survey, output, batch_size=32, progress=False)
    # As if killed while writing chunk 1: its part half-written under the
    # temporary name, never renamed into place.
    part = output / "part-000000001.parquet"
    part.rename(output / "part-000000001.parquet.tmp")
    with open(output / "part-000000001.parquet.tmp", "r+b") as handle:
        handle.truncate(100)
    assert len(read_latents(output)) == 64
    resumed = encode_survey(fitted_vae, survey, output, progress=False)
    assert (resumed.n_encoded, resumed.n_resumed) == (32, 64)
    assert not list(output.glob("*.tmp"))
    frame = read_latents(output)
    np.testing.assert_allclose(_latent_columns(frame, 4), reference, atol=1e-5)


@pytest.mark.parametrize("n_readers", [1, 3])
def test_read_ahead_threads_keep_the_order(
    fitted_vae, survey, reference, tmp_path, n_readers
):
    output = tmp_path / "latents.zarr"
    encode_survey(
        fitted_vae, survey, output, batch_size=7, n_readers=n_readers, progress=False
    )
    frame = read_latents(output)
    assert list(frame["id"]) == list(range(96))
    np.testing.assert_allclose(_latent_columns(frame, 4), reference, atol=1e-5)
    with pytest.raises(ValueError, match="n_readers must be a positive int"):
        encode_survey(fitted_vae, survey, tmp_path / "x.zarr", n_readers=0)


def test_encode_dask_equals_the_in_memory_transform(fitted_vae, survey, reference):
    images = da.from_array(survey, chunks=(25, 3, 32, 64))
    latents = encode_dask(fitted_vae, images)
    assert latents.shape == (96, 4) and latents.chunks[0] == (25, 25, 25, 21)
    np.testing.assert_allclose(latents.compute(), reference, atol=1e-5)
    both = encode_dask(fitted_vae, images, std=True).compute()
    np.testing.assert_allclose(both[:, 4:], fitted_vae.transform_std(survey), rtol=1e-5)
    with pytest.raises(TypeError, match="must be a dask array"):
        encode_dask(fitted_vae, survey)


def test_encode_survey_reads_a_dask_array(fitted_vae, survey, reference, tmp_path):
    images = da.from_array(survey, chunks=(10, 3, 64, 64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode_survey(fitted_vae, images, tmp_path / "d.parquet", progress=False)
    frame = read_latents(tmp_path / "d.parquet")
    np.testing.assert_allclose(_latent_columns(frame, 4), reference, atol=1e-5)


def test_command_line_encode_from_a_list_of_files(fitted_vae, survey, tmp_path, capsys):
    import joblib

    from skgalvae.cli import main

    joblib.dump(fitted_vae, tmp_path / "vae.joblib")
    (tmp_path / "cutouts").mkdir()
    names = []
    for i in range(6):
        fits.PrimaryHDU(survey[i]).writeto(tmp_path / "cutouts" / f"g{i}.fits")
        names.append(f"cutouts/g{i}.fits")
    (tmp_path / "list.txt").write_text("\n".join(names) + "\n")
    args = ["encode", str(tmp_path / "vae.joblib"), str(tmp_path / "list.txt")]
    output = str(tmp_path / "out.parquet")
    assert main([*args, output, "--batch-size", "4", "--quiet"]) == 0
    assert "Encoded 6 of 6 rows" in capsys.readouterr().err
    frame = read_latents(output)
    assert [os.path.basename(i) for i in frame["id"]] == [
        f"g{i}.fits" for i in range(6)
    ]
    assert main([*args, output, "--quiet"]) == 0
    assert "Resumed: 6 rows were already done" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*args, str(tmp_path / "out.csv"), "--quiet"])
    assert exit_info.value.code == 2
    assert "end it in .zarr or .parquet" in capsys.readouterr().err


def test_read_only_memmap_with_a_nan_row(fitted_vae, survey, reference, tmp_path):
    stored = survey.copy()
    stored[5, 2, 10, 10] = np.inf
    np.save(tmp_path / "survey.npy", stored)
    memmap = np.load(tmp_path / "survey.npy", mmap_mode="r")  # read-only
    with pytest.warns(UnreadableRowsWarning, match="1 rows"):
        summary = encode_survey(
            fitted_vae, memmap, tmp_path / "m.zarr", ids=[f"g{i}" for i in range(96)]
        )
    assert summary.failures == {"g5": "non-finite values: 0 NaN and 1 inf"}
    frame = read_latents(tmp_path / "m.zarr")
    keep = np.arange(96) != 5
    np.testing.assert_allclose(
        _latent_columns(frame, 4)[keep], reference[keep], atol=1e-5
    )


def test_command_line_encode_from_a_npy_file(fitted_vae, survey, reference, tmp_path):
    import joblib

    from skgalvae.cli import main

    joblib.dump(fitted_vae, tmp_path / "vae.joblib")
    np.save(tmp_path / "survey.npy", survey)
    output = str(tmp_path / "out.zarr")
    args = ["encode", str(tmp_path / "vae.joblib"), str(tmp_path / "survey.npy")]
    assert main([*args, output, "--quiet"]) == 0
    frame = read_latents(output)
    assert list(frame["id"]) == list(range(len(survey)))
    np.testing.assert_allclose(_latent_columns(frame, 4), reference, atol=1e-5)
