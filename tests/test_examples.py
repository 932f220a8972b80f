"""The examples run end to end (quick mode) and produce their outputs."""

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, out_dir, monkeypatch, capsys):
    """Run ``examples/name`` with ``--quick --out out_dir``; return its stdout."""
    pytest.importorskip("matplotlib")
    script = EXAMPLES / name
    monkeypatch.delenv("SKGALVAE_EXAMPLE_CACHE", raising=False)
    monkeypatch.setattr(sys, "argv", [str(script), "--quick", "--out", str(out_dir)])
    runpy.run_path(str(script), run_name="__main__")
    return capsys.readouterr().out


@pytest.mark.slow
def test_pipeline_gridsearch_example(tmp_path, monkeypatch, capsys):
    out = run_example("plot_pipeline_gridsearch.py", tmp_path, monkeypatch, capsys)
    assert "best n_latent" in out and "saved and reloaded" in out
    assert (tmp_path / "pipeline.joblib").stat().st_size > 0
    assert (tmp_path / "pipeline_gridsearch.png").stat().st_size > 10_000


@pytest.mark.slow
def test_galaxy_zoo_example(tmp_path, monkeypatch, capsys):
    out = run_example("plot_galaxy_zoo.py", tmp_path, monkeypatch, capsys)
    assert "labels from simulated votes vs truth" in out and "merger" in out
    assert (tmp_path / "galaxy_zoo_classes_64.png").stat().st_size > 50_000


@pytest.mark.slow
def test_domain_adaptation_example(tmp_path, monkeypatch, capsys):
    out = run_example("plot_domain_adaptation.py", tmp_path, monkeypatch, capsys)
    assert "before DA: median paired latent MSE" in out and "after DA" in out
    assert (tmp_path / "domain_adaptation_mse.png").stat().st_size > 5_000
    assert (tmp_path / "domain_adaptation_pairs.png").stat().st_size > 20_000


@pytest.mark.slow
def test_study_example(tmp_path, monkeypatch, capsys):
    out = run_example("plot_study.py", tmp_path, monkeypatch, capsys)
    assert "knee" in out and "edge_on: VAE" in out
    assert (tmp_path / "report.md").stat().st_size > 1_000


@pytest.mark.slow
def test_latent_space_example(tmp_path, monkeypatch, capsys):
    out = run_example("plot_latent_space.py", tmp_path, monkeypatch, capsys)
    assert "bulge_fraction: best tracked by vae" in out
    for name in ("correlations", "traversals", "interpolation"):
        assert (tmp_path / f"latent_{name}.png").stat().st_size > 5_000


@pytest.mark.slow
def test_gmm_vae_example(tmp_path, monkeypatch, capsys):
    out = run_example("plot_gmm_vae.py", tmp_path, monkeypatch, capsys)
    assert "ARI k-means on VAE latents" in out and "ARI GMM-VAE clusters" in out
    assert (tmp_path / "gmm_vae_samples.png").stat().st_size > 20_000


@pytest.mark.slow
def test_outliers_example(tmp_path, monkeypatch, capsys):
    out = run_example("plot_outliers.py", tmp_path, monkeypatch, capsys)
    assert "latent:" in out and "reconstruction:" in out
    assert (tmp_path / "outliers.png").stat().st_size > 20_000


def test_encode_survey_example(tmp_path, monkeypatch, capsys):
    pytest.importorskip("zarr")
    out = run_example("plot_encode_survey.py", tmp_path, monkeypatch, capsys)
    assert "interrupted; done so far: 120 rows" in out
    assert "Resumed: 120 rows were already done." in out
    assert "1000000007: non-finite values" in out and "ids in order: True" in out
    assert (tmp_path / "encode_survey.png").stat().st_size > 5_000


def test_example_settings_cache_fitted_models(tmp_path, monkeypatch):
    """With a cache directory set, a second identical fit is loaded, not redone."""
    from sklearn.decomposition import PCA

    from skgalvae._gallery import ExampleSettings

    X = np.random.default_rng(0).normal(size=(50, 6))
    monkeypatch.setenv("SKGALVAE_EXAMPLE_CACHE", str(tmp_path / "cache"))
    settings = ExampleSettings("demo", quick=False, out=tmp_path / "out", device="cpu")
    first = settings.fit(PCA(2), X)
    assert [p.name[:4] for p in (tmp_path / "cache" / "demo").iterdir()] == ["PCA-"]
    # A new process (a new ExampleSettings) loads it without fitting.
    monkeypatch.setattr(PCA, "fit", lambda *a, **k: pytest.fail("fitted again"))
    again = ExampleSettings("demo", quick=False, out=tmp_path / "out", device="cpu")
    second = again.fit(PCA(2), X)
    np.testing.assert_array_equal(second.components_, first.components_)
    monkeypatch.undo()
    monkeypatch.setenv("SKGALVAE_EXAMPLE_CACHE", str(tmp_path / "cache"))
    other = settings.fit(PCA(3), X)  # other parameters: trained anew
    assert other.n_components_ == 3
    assert len(list((tmp_path / "cache" / "demo").glob("PCA-*.joblib"))) == 2
    # A smoke run never caches.
    quick = ExampleSettings("quick", quick=True, out=tmp_path / "q", device="cpu")
    assert quick.sizes({"n": 100}, {"n": 5}) == (5,)
    quick.fit(PCA(2), X)
    assert not (tmp_path / "cache" / "quick").exists()


@pytest.mark.slow
def test_an_example_downloaded_alone_runs(tmp_path):
    """A gallery example copied anywhere runs: it needs only skgalvae."""
    pytest.importorskip("matplotlib")
    alone = tmp_path / "plot_pipeline_gridsearch.py"
    shutil.copy(EXAMPLES / alone.name, alone)
    result = subprocess.run(
        [sys.executable, alone.name, "--quick", "--out", "out"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "SKGALVAE_EXAMPLE_CACHE"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "best n_latent" in result.stdout
    assert (tmp_path / "out" / "pipeline_gridsearch.png").stat().st_size > 10_000
