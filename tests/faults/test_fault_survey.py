"""Survey outputs: one writer at a time, resumes checked by model, unique ids."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from skgalvae.exceptions import OutputLockedError
from skgalvae.survey import encode_survey, read_latents
from skgalvae.survey._lock import exclusive_writer

# Each writer fits its own small model (the seed makes them differ) and
# encodes 320 rows in chunks of 16. With a release file, its first chunk waits
# until the file exists, so that the runs surely overlap.
WRITER = """
import os, sys, time
import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from skgalvae import VAETransformer
from skgalvae.survey import encode_survey

output, seed, release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
X = np.random.default_rng(0).random((320, 1, 64, 64), dtype=np.float32)
vae = VAETransformer(n_latent=3, hidden_dims=(8, 16), max_epochs=1,
                     random_state=seed).fit(X[:64])

def held(images):
    deadline = time.monotonic() + 120
    while release != "-" and not os.path.exists(release):
        assert time.monotonic() < deadline, "never released"
        time.sleep(0.05)
    return images

model = Pipeline([("held", FunctionTransformer(held).fit(X)), ("vae", vae)])
print("encoding", flush=True)
encode_survey(model, X, output, batch_size=16, progress=False)
np.save(output + ".expected.npy", vae.transform(X))
print("done", flush=True)
"""


def _writer(output, seed, release="-"):
    return [sys.executable, "-c", WRITER, str(output), str(seed), str(release)]


@pytest.mark.parametrize("suffix", [".parquet", ".zarr"])
@pytest.mark.slow
def test_a_second_writer_fails_at_once_naming_the_first(tmp_path, suffix):
    output = tmp_path / f"latents{suffix}"
    release = tmp_path / "release"
    first = subprocess.Popen(
        _writer(output, seed=0, release=release),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    holder = tmp_path / f"latents{suffix}.lock.holder"
    deadline = time.monotonic() + 120
    while not holder.exists():
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    second = subprocess.run(
        _writer(output, seed=1), capture_output=True, text=True, timeout=120
    )
    assert first.poll() is None, "the first writer ended before the second tried"
    release.touch()
    assert second.returncode != 0
    assert "OutputLockedError" in second.stderr
    assert f"is being written by process {first.pid}" in second.stderr
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    table = read_latents(output)
    assert len(table) == 320 and table["id"].is_unique
    expected = np.load(f"{output}.expected.npy")
    np.testing.assert_allclose(
        table[["vae0", "vae1", "vae2"]].to_numpy(), expected, atol=1e-5
    )
    assert not holder.exists()  # released
    assert not (tmp_path / f"latents{suffix}.lock").exists()  # nothing left


@pytest.mark.slow
def test_a_killed_writer_releases_its_lock(tmp_path, fitted_vae, images):
    output = tmp_path / "latents.parquet"
    writer = subprocess.Popen(_writer(output, seed=0, release=tmp_path / "never"))
    holder = tmp_path / "latents.parquet.lock.holder"
    deadline = time.monotonic() + 120
    while not holder.exists():
        assert writer.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    writer.kill()
    writer.wait()
    # The operating system released the lock with the process; the next
    # holder takes the files over and removes them when done.
    with exclusive_writer(str(output)):
        pass
    assert list(tmp_path.glob("*.lock*")) == []


def test_the_lock_holds_against_threads_of_one_process(tmp_path, fitted_vae, images):
    output = tmp_path / "latents.zarr"
    with exclusive_writer(str(output)):
        with pytest.raises(OutputLockedError, match=r"latents.zarr is being written"):
            encode_survey(fitted_vae, images, output, progress=False)
    assert not output.exists()  # nothing written by the refused run


def test_resuming_with_a_slightly_different_model_is_refused(
    tmp_path, fitted_vae, images
):
    import copy

    import torch

    output = tmp_path / "latents.parquet"
    encode_survey(fitted_vae, images[:32], output, batch_size=16, progress=False)
    (tmp_path / "latents.parquet" / "part-000000001.parquet").unlink()  # cut short
    nudged = copy.deepcopy(fitted_vae)
    with torch.no_grad():  # latents move by ~1e-3: a re-encoding probe passes
        for parameter in nudged.net_.module_.parameters():
            parameter.mul_(1.0001)
    with pytest.raises(ValueError, match="written by another model"):
        encode_survey(nudged, images[:32], output, progress=False)
    # The same model resumes.
    summary = encode_survey(fitted_vae, images[:32], output, progress=False)
    assert (summary.n_resumed, summary.n_encoded) == (16, 16)


def test_resume_is_checked_even_when_the_first_rows_are_unreadable(
    tmp_path, fitted_vae, small_vae, images
):
    survey = images[:32].copy()
    survey[:16] = np.nan  # the whole first chunk fails to read
    output = tmp_path / "latents.zarr"
    with pytest.warns(UserWarning, match="could not be read"):
        encode_survey(fitted_vae, survey, output, batch_size=16, progress=False)
    other = small_vae(random_state=5).fit(images)
    with pytest.raises(ValueError, match="written by another model"):
        encode_survey(other, survey, output, progress=False)


def test_a_gpu_fitted_model_has_the_fingerprint_of_its_cpu_copy(fitted_vae):
    import copy

    from skgalvae.survey._encode import LatentEncoder

    moved = copy.deepcopy(fitted_vae)
    moved.device_ = "cuda:0"  # what a GPU fit records; weights are the same
    assert LatentEncoder(moved).fingerprint() == LatentEncoder(fitted_vae).fingerprint()


@pytest.mark.parametrize(
    "ids, shown",
    [
        (["a", "b", "a", "c"], r"'a' is at rows 0, 2 of source \(1 id\(s\) repeat\)"),
        ([7, 8, 9, 8], r"8 is at rows 1, 3"),
    ],
)
def test_repeated_ids_are_refused_before_writing(
    tmp_path, fitted_vae, images, ids, shown
):
    output = tmp_path / "latents.parquet"
    with pytest.raises(ValueError, match=shown):
        encode_survey(fitted_vae, images[:4], output, ids=ids, progress=False)
    assert not output.exists()


def test_a_file_listed_twice_is_refused(tmp_path, fitted_vae):
    from astropy.io import fits

    path = tmp_path / "a.fits"
    fits.PrimaryHDU(np.zeros((64, 64), dtype=np.float32)).writeto(path)
    with pytest.raises(ValueError, match=r"a.fits' is at rows 0, 1"):
        encode_survey(
            fitted_vae, [str(path), str(path)], tmp_path / "o.zarr", progress=False
        )


# Chunks the next encoding may transform before it stops (None: all of them).
_STOP = {"after": None}


def _stopping(images):
    """Pass images on; raise once ``_STOP["after"]`` chunks went through."""
    if _STOP["after"] is not None:
        if _STOP["after"] == 0:
            raise KeyboardInterrupt("stopped")
        _STOP["after"] -= 1
    return images


def _interrupted(model, source, output, **kwargs):
    """Encode ``source`` in chunks of 16 until two are written; return the model."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    stopping = Pipeline(
        [("stop", FunctionTransformer(_stopping).fit(source)), ("vae", model)]
    )
    _STOP["after"] = 2
    try:
        with pytest.raises(KeyboardInterrupt):
            encode_survey(
                stopping, source, output, batch_size=16, progress=False, **kwargs
            )
    finally:
        _STOP["after"] = None
    return stopping


@pytest.mark.parametrize("suffix", [".parquet", ".zarr"])
def test_a_resume_with_another_array_of_the_same_length_is_refused(
    fitted_vae, images, tmp_path, suffix
):
    output = tmp_path / f"latents{suffix}"
    model = _interrupted(fitted_vae, images[:64], output)
    other = np.ascontiguousarray(images[:64][:, :, ::-1])  # survey B, same size
    with pytest.raises(ValueError, match="another source: its images differ"):
        encode_survey(model, other, output, batch_size=16, progress=False)
    # The same source carries on, and the table is survey A's alone.
    done = encode_survey(model, images[:64], output, batch_size=16, progress=False)
    assert done.n_resumed == 32 and done.n_encoded == 32
    latents = read_latents(output).filter(regex=r"^vae\d+$").to_numpy()
    np.testing.assert_allclose(latents, model.transform(images[:64]), atol=1e-5)


@pytest.mark.parametrize("suffix", [".parquet", ".zarr"])
def test_a_resume_with_ids_that_differ_after_the_first_rows_is_refused(
    fitted_vae, images, tmp_path, suffix
):
    output = tmp_path / f"latents{suffix}"
    ids = [f"g{i}" for i in range(64)]
    model = _interrupted(fitted_vae, images[:64], output, ids=ids)
    others = ids[:16] + [f"h{i}" for i in range(16, 64)]
    with pytest.raises(ValueError, match="another source: its ids differ"):
        encode_survey(
            model, images[:64], output, ids=others, batch_size=16, progress=False
        )
    # Ids of another type (1 vs "1") differ too.
    numbered = _interrupted(fitted_vae, images[:64], tmp_path / f"n{suffix}")
    with pytest.raises(ValueError, match="its ids differ"):
        encode_survey(
            numbered,
            images[:64],
            tmp_path / f"n{suffix}",
            ids=[str(i) for i in range(64)],
            batch_size=16,
            progress=False,
        )


@pytest.mark.parametrize("suffix", [".parquet", ".zarr"])
def test_an_output_damaged_at_creation_says_overwrite(
    fitted_vae, images, tmp_path, suffix
):
    output = tmp_path / f"latents{suffix}"
    encode_survey(fitted_vae, images[:32], output, batch_size=16, progress=False)
    # What a full disk at creation leaves: an empty metadata file, or a
    # store directory with nothing in it.
    if suffix == ".parquet":
        (output / "_skgalvae.json").write_text("")
    else:
        import shutil

        shutil.rmtree(output)
        output.mkdir()
    with pytest.raises(ValueError, match="cannot be resumed.*Pass overwrite=True"):
        encode_survey(fitted_vae, images[:32], output, batch_size=16, progress=False)
    done = encode_survey(
        fitted_vae, images[:32], output, batch_size=16, overwrite=True, progress=False
    )
    assert done.n_encoded == 32


def test_a_table_that_does_not_record_its_model_is_not_resumed(
    fitted_vae, images, tmp_path
):
    output = tmp_path / "latents.parquet"
    encode_survey(fitted_vae, images[:32], output, batch_size=16, progress=False)
    meta_path = output / "_skgalvae.json"
    meta = json.loads(meta_path.read_text())
    del meta["model_fingerprint"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="lacks model_fingerprint.*overwrite=True"):
        encode_survey(fitted_vae, images[:32], output, batch_size=16, progress=False)


@pytest.mark.parametrize("suffix", [".parquet", ".zarr"])
def test_a_store_cut_short_while_created_is_removed(
    fitted_vae, images, tmp_path, suffix, monkeypatch
):
    from skgalvae.survey import _stores

    output = tmp_path / f"latents{suffix}"
    store_cls = _stores.store_class(output, "auto")
    real_create = store_cls.create.__func__

    def full_disk(cls, path, metadata, id_dtype):
        real_create(cls, path, metadata, id_dtype)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_cls, "create", classmethod(full_disk))
    with pytest.raises(OSError, match="No space left"):
        encode_survey(fitted_vae, images[:32], output, progress=False)
    assert not output.exists()  # nothing half-made is left to trip the next run


def test_an_output_that_is_a_file_is_refused(fitted_vae, images, tmp_path):
    output = tmp_path / "latents.parquet"
    output.write_text("not a table")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        encode_survey(fitted_vae, images[:4], output, overwrite=True, progress=False)
    assert output.read_text() == "not a table"
