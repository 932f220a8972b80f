"""Every user mistake on the command line exits 2 with one line, before any work."""

import subprocess
import sys
import time

import joblib
import pytest

from skgalvae.cli import main
from skgalvae.survey._lock import exclusive_writer


def _error_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def _exits_2(argv, capsys):
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert time.perf_counter() - start < 10  # refused up front, not after work
    return _error_line(capsys)


def test_an_unknown_device_is_refused_before_the_data_stage(tmp_path, capsys):
    out = tmp_path / "report"
    err = _exits_2(["study", "--quick", "--device", "tpu", "--out", str(out)], capsys)
    assert "skgalvae study: error: device='tpu' is not a torch device" in err
    assert not (out / "cache").exists()


def test_cuda_without_a_gpu_is_refused(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    err = _exits_2(["study", "--device", "cuda", "--out", str(tmp_path)], capsys)
    assert "torch sees no CUDA device" in err


def test_out_pointing_at_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("mine")
    err = _exits_2(["study", "--quick", "--out", str(target)], capsys)
    assert f"--out {target} is a file" in err
    assert target.read_text() == "mine"


def test_out_below_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("mine")
    err = _exits_2(["study", "--quick", "--out", str(target / "sub")], capsys)
    assert "is not a writable directory (Not a directory)" in err


def test_an_unwritable_out_is_refused_up_front(capsys):
    # /proc refuses new directories even to root, where chmod would not.
    err = _exits_2(["study", "--quick", "--out", "/proc/skgalvae-report"], capsys)
    assert "--out /proc/skgalvae-report is not a writable directory" in err


def test_encode_refuses_a_file_that_is_not_a_model(tmp_path, images, capsys):
    model = tmp_path / "model.joblib"
    model.write_text("not a pickle")
    err = _exits_2(["encode", str(model), "x.zarr", str(tmp_path / "o.zarr")], capsys)
    assert f"{model} is not a joblib file of a fitted model" in err


def test_encode_refuses_a_missing_model(tmp_path, capsys):
    missing = tmp_path / "nowhere.joblib"
    err = _exits_2(["encode", str(missing), "x.zarr", "o.zarr"], capsys)
    assert f"model file {missing} does not exist" in err


def test_encode_refuses_a_pickle_that_is_not_a_transformer(tmp_path, capsys):
    model = tmp_path / "model.joblib"
    joblib.dump({"weights": [1, 2]}, model)
    err = _exits_2(["encode", str(model), "x.zarr", "o.zarr"], capsys)
    assert "holds a dict, not a fitted transformer" in err


@pytest.fixture
def survey_zarr(tmp_path, images):
    zarr = pytest.importorskip("zarr")
    path = tmp_path / "survey.zarr"
    group = zarr.open_group(str(path), mode="w")
    group.create_array("images", data=images[:32])
    return path


def test_encode_into_a_locked_output_names_the_holder(
    tmp_path, fitted_vae, survey_zarr, capsys
):
    model = tmp_path / "model.joblib"
    joblib.dump(fitted_vae, model)
    output = tmp_path / "latents.parquet"
    with exclusive_writer(str(output)):
        argv = ["encode", str(model), str(survey_zarr), str(output), "--key", "images"]
        err = _exits_2(argv, capsys)
    assert "is being written by process" in err


def test_encode_with_a_missing_key_is_refused(
    tmp_path, fitted_vae, survey_zarr, capsys
):
    model = tmp_path / "model.joblib"
    joblib.dump(fitted_vae, model)
    argv = ["encode", str(model), str(survey_zarr), str(tmp_path / "o.zarr")]
    err = _exits_2([*argv, "--key", "nope"], capsys)
    assert "nope" in err


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    """Failures that are not the user's show in full (exit status 1)."""
    script = (
        "import skgalvae.study._stage_data as r\n"
        "def broken(*a, **k): raise RuntimeError('a bug')\n"
        "r.load_study_data = broken\n"
        "from skgalvae.cli import main\n"
        f"main(['study', '--quick', '--out', {str(tmp_path)!r}])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: a bug" in result.stderr


def test_a_save_pretrained_directory_is_a_model_for_every_command(
    tmp_path, fitted_vae, survey_zarr, capsys
):
    from skgalvae import save_pretrained
    from skgalvae.survey import read_latents

    model = tmp_path / "model"
    save_pretrained(fitted_vae, model)
    output = tmp_path / "latents.parquet"
    argv = ["encode", str(model), str(survey_zarr), str(output), "--key", "images"]
    assert main([*argv, "--quiet"]) == 0
    assert len(read_latents(output)) == 32
    capsys.readouterr()
    argv = ["neighbours", str(model), "3", "-k", "2", "--images", str(survey_zarr)]
    assert main([*argv, "--key", "images"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "query_id,rank,id,distance"
    (tmp_path / "empty").mkdir()
    err = _exits_2(["encode", str(tmp_path / "empty"), "x.zarr", "o.zarr"], capsys)
    assert "is a directory but not a saved model (no config.json)" in err


def test_encode_writes_plain_progress_lines_to_a_log(
    tmp_path, fitted_vae, survey_zarr, capsys, caplog
):
    import logging

    model = tmp_path / "model.joblib"
    joblib.dump(fitted_vae, model)
    output = tmp_path / "latents.parquet"
    argv = ["encode", str(model), str(survey_zarr), str(output), "--key", "images"]
    with caplog.at_level(logging.INFO, logger="skgalvae"):
        assert main(argv) == 0  # stderr is captured here: not a terminal
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b[" not in err  # no bar redraws
    assert "encode: done 32/32 img" in caplog.text
