"""The skgalvae command: fast help, version, TOML settings, quiet and log output."""

import subprocess
import sys

import pytest

from skgalvae.cli import build_parser, main
from skgalvae.cli._study import config_from_args
from skgalvae.study import StudyConfig


def _config(argv):
    args = build_parser().parse_args(argv)
    return config_from_args(args), args


def test_help_and_version_do_not_import_torch_or_numpy():
    code = (
        "import sys\n"
        "from skgalvae.cli import main\n"
        "for argv in (['--version'], ['--help'], ['study', '--help'],\n"
        "             ['neighbours', '--help'], ['encode', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exit:\n"
        "        assert exit.code == 0, argv\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("skgalvae ")  # --version
    shown = " ".join(result.stdout.split())  # help wraps its lines
    assert "(default 8; --quick: 3)" in shown  # study --help: --epochs


def test_config_file_then_flags(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text('n_samples = 500\nlatents = [10, 20]\nepochs = 5\nout = "r"\n')
    config, args = _config(["study", "--config", str(path), "--epochs", "7"])
    assert config.n_samples == 500 and config.latents == (10, 20)
    assert config.epochs == 7  # the flag wins
    assert args.out == "r"
    config, args = _config(["study", "--config", str(path), "--out", "mine"])
    assert args.out == "mine" and config.epochs == 5


def test_probe_repeats_and_the_pose_free_model_are_flags():
    config, _ = _config(["study", "--probe-repeats", "2", "--models", "pose-free"])
    assert config.probe_repeats == 2 and config.models == ("pose-free",)
    assert StudyConfig.quick().probe_repeats == 1
    with pytest.raises(SystemExit):
        _config(["study", "--probe-repeats", "0"])


def test_quick_in_a_config_file_takes_the_quick_sizes(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text("quick = true\nepochs = 2\n")
    config, _ = _config(["study", "--config", str(path)])
    assert config == StudyConfig.quick(epochs=2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("bogus = 1\n", "unknown setting(s) bogus"),
        ("n_samples = [\n", "is not valid TOML"),
        ('epochs = "many"\n', None),
    ],
)
def test_bad_config_files_exit_2_naming_the_file(tmp_path, capsys, text, message):
    path = tmp_path / "study.toml"
    path.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["study", "--config", str(path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"--config {path}" in err
    assert message is None or message in err


def test_a_missing_config_file_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["study", "--config", str(tmp_path / "none.toml")])
    assert "none.toml does not exist" in capsys.readouterr().err


def test_progress_in_a_log_is_plain_lines(monkeypatch, capsys):
    import logging

    from skgalvae.utils import _progress

    package = logging.getLogger("skgalvae")
    monkeypatch.setattr(package, "level", logging.INFO)
    monkeypatch.setattr(_progress, "LINE_INTERVAL_S", 0.0)
    handler = logging.StreamHandler(sys.stderr)
    package.addHandler(handler)
    try:
        for _ in _progress.progress(range(3), desc="stage", unit="step"):
            pass
    finally:
        package.removeHandler(handler)
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    assert "stage: at 1/3 step" in err and "stage: done 3/3 step" in err


def test_quiet_progress_says_nothing(monkeypatch, capsys):
    import logging

    from skgalvae.utils import _progress

    monkeypatch.setattr(logging.getLogger("skgalvae"), "level", logging.WARNING)
    for _ in _progress.progress(range(3), desc="stage"):
        pass
    assert capsys.readouterr().err == ""


def test_setup_cfg_s_console_script_is_the_command_s_main():
    import configparser
    import importlib
    from pathlib import Path

    from skgalvae.cli import main as command_main

    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parents[1] / "setup.cfg")
    scripts = config["options.entry_points"]["console_scripts"].strip().splitlines()
    entry = dict(line.replace(" ", "").split("=") for line in scripts)["skgalvae"]
    module, function = entry.split(":")
    assert getattr(importlib.import_module(module), function) is command_main
