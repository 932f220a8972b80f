"""The examples run end to end (quick mode) and produce their outputs."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_pipeline_gridsearch_example(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    script = EXAMPLES / "plot_pipeline_gridsearch.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--quick", "--out", str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "best n_latent" in out and "saved and reloaded" in out
    assert (tmp_path / "pipeline.joblib").stat().st_size > 0
    assert (tmp_path / "pipeline_gridsearch.png").stat().st_size > 10_000


def test_galaxy_zoo_example(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    script = EXAMPLES / "plot_galaxy_zoo.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--quick", "--out", str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "labels from simulated votes vs truth" in out and "merger" in out
    assert (tmp_path / "galaxy_zoo_classes_64.png").stat().st_size > 50_000
