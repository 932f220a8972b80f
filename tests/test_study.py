"""The main job: ``skgalvae study`` end to end, its cache, its data paths."""

import base64
import json
import logging
import re
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from skgalvae.cli import build_parser, main
from skgalvae.cli._study import config_from_args
from skgalvae.datasets import make_galaxies
from skgalvae.labels import GZD5_QUESTIONS, gzd5_labels
from skgalvae.study import StudyConfig, _stage_adaptation, _stage_latents, run_study

matplotlib = pytest.importorskip("matplotlib")

FIGURES = [
    "latent_search.png", "class_ssim.png", "classification.png",
    "da_mse_histogram.png", "da_pairs.png", "outliers.png", "reconstructions.png",
    "traversals.png", "tsne.png", "prior_samples.png",
]  # fmt: skip

# Every stage, as small as it goes: seconds, not minutes.
TINY = dict(
    models=("skgalvae", "xu2023"),  # both, side by side, as the full run
    n_samples=120,
    latents=(2, 4),
    epochs=1,
    final_epochs=2,
    n_pairs=40,
    da_epochs=1,
    mmd_weights=(0.5,),
    n_trees=10,
    min_question_samples=5,
    tsne_max=40,
)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """The --quick run CI promises: every stage of the built-in study."""
    out = tmp_path_factory.mktemp("report")
    assert main(["study", "--quick", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_quick_run_writes_every_file(quick_report):
    out, results = quick_report
    for name in [*FIGURES, "report.md", "report.html", "results.json", "model.joblib"]:
        assert (out / name).stat().st_size > 0, name
    for name in FIGURES:
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 100, name
    markdown = (out / "report.md").read_text()
    for figure in FIGURES:
        assert f"({figure})" in markdown
    # the summary beside the paper, five stages and the run's settings
    assert markdown.count("\n## ") == 7
    assert "<table>" in (out / "report.html").read_text()
    # A smoke run says so, before anything else, and in its results.
    assert markdown.index("**Smoke run.**") < markdown.index("\n## ")
    assert "models skgalvae (full run: skgalvae, xu2023)" in markdown
    assert results["smoke_run"] is True and results["config"]["smoke"] is True


def test_a_full_size_run_is_not_called_a_smoke_run():
    from skgalvae.study import StudyConfig

    assert StudyConfig().smoke is False
    assert StudyConfig.quick(n_samples=500).smoke is True  # sizes do not decide
    with pytest.raises(TypeError, match="smoke must be bool"):
        StudyConfig(smoke="no")


@pytest.mark.slow
def test_quick_report_html_is_rendered_with_working_contents(quick_report):
    out, results = quick_report
    page = (out / "report.html").read_text()
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    for raw in ("`", "**", "](", "\n## ", "|---"):
        assert raw not in body, f"raw Markdown {raw!r} in report.html"
    anchors = re.findall(r'<a href="#([^"]+)"', page)
    ids = set(re.findall(r'<h2 id="([^"]+)"', page))
    assert len(anchors) == 7 and set(anchors) == ids
    # Numbers are rounded to what they mean: no 3-decimal seconds.
    assert not re.search(r"<td>\d{3,}\.\d+</td>", page)
    assert results["environment"]["torch"] in page
    # Self-contained: every figure embedded, none linked by file name.
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == len(FIGURES)
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    embedded = base64.b64decode(sources[0].split(",", 1)[1])
    assert embedded in {(out / name).read_bytes() for name in FIGURES}


@pytest.mark.slow
def test_quick_report_flags_accuracies_at_the_majority_floor(quick_report):
    out, results = quick_report
    markdown = (out / "report.md").read_text()
    flagged = [
        question
        for question, entry in results["classification"]["vae"].items()
        if "scores" in entry
        and entry["scores"]["test"]["accuracy"] - entry["majority"]["accuracy"]
        <= 2 * entry["scores"]["test"]["accuracy_se"]
    ]
    sentence = "Not clearly above always answering the most common class"
    assert (sentence in markdown) == bool(flagged)
    for question in flagged:
        assert f"{question} ('" in markdown.split(sentence)[1].split("\n")[0]
    assert " ± " in markdown.split("## 2.")[1]  # accuracies with their error


@pytest.mark.slow
def test_quick_report_puts_the_papers_numbers_beside_the_runs(quick_report):
    from skgalvae.study import _paper

    out, results = quick_report
    markdown = (out / "report.md").read_text()
    summary = markdown.split("## This run beside the paper")[1].split("\n## ")[0]
    knee = results["latent_dimension"]["searches"][0]["knee"]
    shown = "none: SSIM does not rise" if knee is None else knee
    assert f"| knee of SSIM vs n_latent | {shown} | {_paper.KNEE} |" in summary
    assert "0.417%" in summary  # 1,308 of 314,000 beyond 8 sigma
    # Table 3 per question in the classification table, Table 4 in the DA one.
    section = markdown.split("## 2. Classification")[1].split("\n## ")[0]
    assert "paper accuracy (Table 3)" in section
    merger = next(line for line in section.splitlines() if line.startswith("| merger"))
    assert merger.endswith("| 0.964 |")  # 96.36 % in Table 3
    section = markdown.split("## 3. Domain adaptation")[1].split("\n## ")[0]
    assert "| 0.765 / 0.706 / 0.794 |" in section  # how_rounded in Table 4
    # The summary's mean is over the questions this run classified.
    asked = [q for q, e in results["classification"]["vae"].items() if "scores" in e]
    expected = np.mean([_paper.CLASSIFICATION_ACCURACY[q] for q in asked])
    assert f"| {expected:.3g} |" in summary


@pytest.mark.slow
def test_quick_run_latent_search_picks_the_knee(quick_report):
    out, results = quick_report
    latent = results["latent_dimension"]
    config = StudyConfig.quick()
    assert [s["model"] for s in latent["searches"]] == list(config.models)
    for search in latent["searches"]:
        assert search["n_latent"] == list(config.latents)
        assert all(0 < s <= 1 for s in search["mean_ssim"])
        assert all(
            0 <= a <= n
            for a, n in zip(search["active_latents"], search["n_latent"], strict=True)
        )
        assert search["knee"] in (*config.latents, None)
        assert (search["knee"] is None) == (not search["ssim_rises"])
        assert search["chosen"] in config.latents
    assert latent["chosen"] == latent["searches"][0]["chosen"]
    model = joblib.load(out / "model.joblib")
    assert model[-1].n_latent == latent["chosen"]
    images = make_galaxies(3, random_state=5).images
    assert model.transform(images).shape == (3, latent["chosen"])
    per_class = latent["per_class"]
    assert sum(v["n"] for v in per_class.values()) == results["data"]["n_test"]
    assert all(0 < v["mean"] <= 1 for v in per_class.values())


@pytest.mark.slow
def test_quick_run_classifies_every_question_against_pca(quick_report):
    _, results = quick_report
    classification = results["classification"]
    assert set(classification) == {"vae", "pca"}
    assert list(classification["vae"]) == list(GZD5_QUESTIONS)
    scored = 0
    for question, entry in classification["vae"].items():
        assert entry["n_train"] + entry["n_test"] == sum(entry["class_counts"].values())
        if "skipped" in entry:
            assert (
                str(entry["n_train"]) in entry["skipped"] or "class" in entry["skipped"]
            )
            continue
        scored += 1
        for encoder in ("vae", "pca"):
            scores = classification[encoder][question]["scores"]["test"]
            assert set(scores) == {
                "accuracy", "accuracy_se", "balanced_accuracy", "precision",
                "recall", "f1",
            }  # fmt: skip
            assert all(0 <= v <= 1 for v in scores.values())
            n_test = classification[encoder][question]["n_test"]
            accuracy = scores["accuracy"]
            assert scores["accuracy_se"] == pytest.approx(
                np.sqrt(accuracy * (1 - accuracy) / n_test)
            )
        majority = entry["majority"]
        assert 0 < majority["accuracy"] <= 1
        assert majority["class"] in entry["class_counts"]
    assert scored >= 7
    # Edge-on disks are easy: both encoders must beat chance clearly.
    assert classification["vae"]["edge_on"]["scores"]["test"]["accuracy"] > 0.7


@pytest.mark.slow
def test_quick_run_probes_the_latents_against_pca_with_their_spread(quick_report):
    out, results = quick_report
    probes = results["probes"]
    assert probes["n_galaxies"] == results["data"]["n_galaxies"]
    assert probes["n_folds"] == 5  # --quick: one repeat of 5 folds
    assert sum(probes["class_counts"].values()) == probes["n_galaxies"]
    rows = pd.DataFrame(probes["rows"]).set_index(["probe", "features"])
    assert set(rows.index) == {
        (p, f) for p in ("rf", "logreg", "knn") for f in ("vae", "pca")
    }
    for probe in ("rf", "logreg", "knn"):
        pca, vae = rows.loc[(probe, "pca")], rows.loc[(probe, "vae")]
        assert pca["verdict"] == "baseline" and 0 <= vae["mean"] <= 1
        assert vae["sd"] > 0
        assert vae["difference"] == pytest.approx(vae["mean"] - pca["mean"])
        expected = (
            "tie"
            if vae["p_value"] >= 0.05
            else ("better" if vae["difference"] > 0 else "worse")
        )
        assert vae["verdict"] == expected
    report = (out / "report.md").read_text()
    rf = rows.loc[("rf", "vae")]
    assert f"{rf['mean']:.3f} ± {rf['sd']:.3f}" in report
    assert "Three probes, with their spread" in report


@pytest.mark.slow
def test_quick_run_adapts_domains_and_finds_outliers(quick_report):
    out, results = quick_report
    adaptation = results["domain_adaptation"]
    # Every adapted encoder gets a sentence that says what got worse.
    markdown = (out / "report.md").read_text()
    assert markdown.count("Adaptation made") == len(adaptation["latent_shift"]) - 1
    assert list(adaptation["latent_shift"]) == [
        "before",
        "after (anchored, cluster_mmd, mmd_weight=1)",
        "after (study: shared, mmd, mmd_weight=0.5 fixed)",
    ]
    for shift in adaptation["latent_shift"].values():
        assert shift["median_mse"] > 0
        assert 0 <= shift["domain_auc"] <= 1
        assert shift["mean_mse"] >= shift["median_mse"] * 0.5
    for accuracy in adaptation["accuracy"].values():
        scored = {q: a for q, a in accuracy.items() if "skipped" not in a}
        assert scored, accuracy
        for a in scored.values():
            assert set(a) == {"DECaLS", "BASS, DECaLS RF", "BASS, RF retrained"}
    outliers = results["outliers"]
    assert outliers["n_galaxies"] == results["data"]["n_galaxies"]
    for rule in ("one-pass", "iterative"):
        entry = outliers[rule]
        n = round(entry["fraction"] * outliers["n_galaxies"])
        assert entry["n_outliers"] == n
        assert entry["outliers_defect_or_star"] <= n
    # Clipping removes the far samples first: it can only find more.
    assert outliers["iterative"]["n_outliers"] >= outliers["one-pass"]["n_outliers"]
    assert outliers["n_defects"] > 0 and outliers["n_star"] > 0


@pytest.mark.slow
def test_cache_skips_finished_stages_and_changes_redo_them(tmp_path, monkeypatch):
    calls = []
    search = _stage_latents.search_latents

    def counting(*args, **kwargs):
        calls.append(args[2])  # the model
        return search(*args, **kwargs)

    adaptations = []
    adapt = _stage_adaptation.adapt_domains

    def counting_adapt(*args, **kwargs):
        adaptations.append(1)
        return adapt(*args, **kwargs)

    monkeypatch.setattr(_stage_latents, "search_latents", counting)
    monkeypatch.setattr(_stage_adaptation, "adapt_domains", counting_adapt)
    config = StudyConfig.quick(**TINY)
    first = run_study(config, tmp_path)
    assert calls == ["skgalvae", "xu2023"] and len(adaptations) == 1
    # Same settings: nothing trains again, every number is the same.
    second = run_study(config, tmp_path)
    assert calls == ["skgalvae", "xu2023"] and len(adaptations) == 1
    for key in ("latent_dimension", "classification", "domain_adaptation", "outliers"):
        assert second[key] == first[key], key
    # Forest size does not touch the search, but the forests of the domain
    # adaptation stage are refit; the search epochs redo the search.
    run_study(replace(config, n_trees=12), tmp_path)
    assert calls == ["skgalvae", "xu2023"] and len(adaptations) == 2
    run_study(replace(config, epochs=2), tmp_path)
    assert calls == ["skgalvae", "xu2023", "skgalvae", "xu2023"]


@pytest.mark.slow
def test_questions_with_too_few_galaxies_are_reported_as_skipped(tmp_path):
    config = StudyConfig.quick(
        **{**TINY, "min_question_samples": 50, "models": ("skgalvae",)}
    )
    results = run_study(config, tmp_path, cache=False)
    entries = results["classification"]["vae"]
    skipped = {q: e for q, e in entries.items() if "skipped" in e}
    assert skipped, "at 120 galaxies some GZD-5 branch has fewer than 50"
    for entry in skipped.values():
        assert entry["n_train"] < 50
        assert f"{entry['n_train']} labelled training galaxies" in entry["skipped"]
    kept = [q for q in entries if q not in skipped]
    assert all(entries[q]["n_train"] >= 50 for q in kept)
    markdown = (tmp_path / "report.md").read_text()
    for question in skipped:
        assert f"| {question} |" in markdown and "skipped:" in markdown


@pytest.fixture
def fits_cutouts(tmp_path):
    """Simulated galaxies written as FITS files, with their GZD-5 vote catalogue."""
    data = make_galaxies(100, random_state=3)
    folder = tmp_path / "cutouts"
    folder.mkdir()
    names = []
    for i, image in enumerate(data.images):
        name = f"galaxy_{i:03d}.fits"
        fits.PrimaryHDU(image.astype(">f4")).writeto(folder / name)
        names.append(name)
    (folder / "list.txt").write_text("# one per line\n" + "\n".join(names) + "\n")
    data.votes.to_csv(folder / "votes.csv", index=False)
    return folder, data


@pytest.mark.slow
def test_fits_list_runs_the_full_study(fits_cutouts, tmp_path):
    folder, data = fits_cutouts
    out = tmp_path / "out"
    argv = _fits_argv(folder / "list.txt", folder / "votes.csv", out) + [
        "--latents", "2,4", "--epochs", "1", "--quick", "--n-samples", "100",
    ]  # fmt: skip
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["data"]["n_galaxies"] == 100
    assert list(results["classification"]["vae"]) == list(GZD5_QUESTIONS)
    # The catalogue's labels are the simulator's own labels, row for row.
    labels = gzd5_labels(data.votes)
    counts = {q: int(labels[q].notna().sum()) for q in labels}
    for question, entry in results["classification"]["vae"].items():
        assert entry["n_train"] + entry["n_test"] == counts[question]
    assert "skipped" in results["domain_adaptation"]
    assert (out / "reconstructions.png").exists()


def _write_gz_desi(folder, n=90):
    rng = np.random.default_rng(0)
    folder.mkdir()
    images = rng.integers(0, 40, size=(n, 3, 64, 64), dtype=np.uint8)
    images[: n // 2, :, 16:48, 16:48] = 250  # "spirals": a big bright square
    np.savez(folder / "images.npz", images=images)
    flags = np.zeros((n, 3), int)
    flags[np.arange(n), [0] * (n // 2) + [1] * (n - n // 2 - 10) + [2] * 10] = 1
    pd.DataFrame(
        {
            "SPIRAL": flags[:, 0], "ELLIPTICAL": flags[:, 1], "UNCERTAIN": flags[:, 2],
            "NVOTE": 30, "P_EL": flags[:, 1] * 0.9, "P_CS": flags[:, 0] * 0.9,
            "OBJID": np.arange(n), "RA": "0", "DEC": "0", "dr8_id": np.arange(n),
        }
    ).to_csv(folder / "catalog.csv", index=False)  # fmt: skip


@pytest.mark.slow
def test_gz_desi_runs_the_stages_its_labels_allow(tmp_path, caplog):
    _write_gz_desi(tmp_path / "gz")
    out = tmp_path / "out"
    argv = ["study", "--gz-desi", str(tmp_path / "gz"), "--out", str(out),
            "--quick", "--n-samples", "90", "--latents", "2,4",
            "--epochs", "1"]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="skgalvae"):
        assert main(argv) == 0
    log = [r.getMessage() for r in caplog.records if r.name.startswith("skgalvae")]
    # The plan first, then progress, the refit's epochs among it.
    assert log[0].startswith("study: 90 gz_desi cutouts at 64x64: n_latent 2, 4")
    assert any("VAETransformer: done" in line and "epoch" in line for line in log)
    results = json.loads((out / "results.json").read_text())
    entry = results["classification"]["vae"]["gz1_class"]
    assert entry["class_counts"] == {"spiral": 45, "elliptical": 35, "uncertain": 10}
    # Spirals differ from the rest; ellipticals and uncertain ones do not.
    assert entry["scores"]["test"]["accuracy"] > 0.65
    assert set(results["latent_dimension"]["per_class"]) == {
        "spiral", "elliptical", "uncertain",
    }  # fmt: skip
    assert "skipped" in results["domain_adaptation"]
    assert "outliers" in results and (out / "tsne.png").exists()


def _fits_argv(fits_list, catalog, out):
    return ["study", "--fits-list", str(fits_list), "--catalog", str(catalog),
            "--out", str(out)]  # fmt: skip


def _fail(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_missing_fits_list_is_named(tmp_path, capsys):
    err = _fail(_fits_argv(tmp_path / "nope.txt", tmp_path / "c.csv", tmp_path), capsys)
    assert "FITS list not found" in err and "nope.txt" in err


def test_missing_listed_file_is_named(fits_cutouts, tmp_path, capsys):
    folder, _ = fits_cutouts
    (folder / "galaxy_007.fits").unlink()
    err = _fail(_fits_argv(folder / "list.txt", folder / "votes.csv", tmp_path), capsys)
    assert "1 of the 100 files" in err and "galaxy_007.fits" in err


def test_catalogue_without_needed_columns_is_named(fits_cutouts, tmp_path, capsys):
    folder, data = fits_cutouts
    data.votes.drop(columns=["bar_weak_fraction"]).to_csv(folder / "votes.csv")
    err = _fail(_fits_argv(folder / "list.txt", folder / "votes.csv", tmp_path), capsys)
    assert "votes.csv" in err and "bar_weak_fraction" in err


def test_catalogue_of_another_length_is_named(fits_cutouts, tmp_path, capsys):
    folder, data = fits_cutouts
    data.votes.iloc[:60].to_csv(folder / "votes.csv", index=False)
    err = _fail(_fits_argv(folder / "list.txt", folder / "votes.csv", tmp_path), capsys)
    assert "has 60 rows" in err and "lists 100 files" in err


def test_fits_list_needs_a_catalogue(tmp_path, capsys):
    err = _fail(["study", "--fits-list", "x.txt", "--out", str(tmp_path)], capsys)
    assert "--fits-list needs --catalog" in err


def test_more_galaxies_than_the_data_holds(tmp_path, capsys):
    _write_gz_desi(tmp_path / "gz", n=30)
    err = _fail(["study", "--gz-desi", str(tmp_path / "gz"), "--n-samples", "50",
                 "--out", str(tmp_path)], capsys)  # fmt: skip
    assert "n_samples=50" in err and "(30)" in err


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--latents", "10,x"], "comma-separated integers"),
        (["--latents", "10"], "at least 2 distinct"),
        (["--image-size", "100"], "multiple of 64"),
        (["--epochs", "0"], "must be >= 1"),
    ],
)
def test_bad_options_are_named(argv, match, tmp_path, capsys):
    err = _fail(["study", "--out", str(tmp_path), *argv], capsys)
    assert match in err


def test_python_dash_m_shows_the_study_help():
    done = subprocess.run(
        [sys.executable, "-m", "skgalvae", "study", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--gz-desi", "--fits-list", "--catalog", "--quick", "--latents"):
        assert option in done.stdout


def test_readme_main_command_is_the_default_study():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"<!-- main-command -->\n```bash\n(.*?)\n```", readme, re.S)
    command = shlex.split(block.group(1).split("&&")[-1])
    assert command[:2] == ["skgalvae", "study"]
    config = config_from_args(build_parser().parse_args(command[1:]))
    assert config == StudyConfig()  # the budgeted default run, on built-in data


def test_adaptation_verdicts_say_what_got_worse():
    from skgalvae.study._stage_adaptation import adaptation_verdicts

    def shift(mse, auc):
        return {"relative_median_mse": mse, "domain_auc": auc}

    adaptation = {
        "latent_shift": {"before": shift(0.1, 0.9), "after": shift(0.3, 0.7)},
        "accuracy": {
            "before": {"q": {"DECaLS": 0.8, "BASS, DECaLS RF": 0.6}},
            "after": {"q": {"DECaLS": 0.7, "BASS, DECaLS RF": 0.65}},
        },
    }
    (sentence,) = adaptation_verdicts(adaptation)
    assert "relative paired latent MSE 0.1000 -> 0.3000 (worse)" in sentence
    assert "domain AUC 0.900 -> 0.700 (better)" in sentence
    assert "DECaLS forest 0.600 -> 0.650 (better)" in sentence
    assert "DECaLS accuracy 0.800 -> 0.700 (worse)" in sentence
    assert sentence.endswith("made 2 of these 4 measures worse.")


def test_pictures_of_a_model_that_learned_little_are_flagged():
    from sklearn.utils import Bunch

    from skgalvae.study._stage_pictures import _structure_warnings

    rng = np.random.default_rng(0)
    originals = rng.random((12, 3, 16, 16))
    walking = Bunch(images=rng.random((5, 7, 3, 16, 16)))
    learned = {"originals": originals, "traversals": walking}
    assert _structure_warnings({**learned, "reconstructions": originals * 0.9}) == []
    mean_galaxy = np.broadcast_to(originals.mean(axis=0), originals.shape)
    still = Bunch(images=np.broadcast_to(originals[:1], (5, 7, 3, 16, 16)))
    warnings = _structure_warnings(
        {"originals": originals, "reconstructions": mean_galaxy, "traversals": still}
    )
    assert len(warnings) == 2
    assert "reconstructions carry almost no structure" in warnings[0]
    assert "0%" in warnings[0] and "barely change" in warnings[1]


def test_the_contributing_guide_s_new_stage_runs_cached_from_its_one_file(tmp_path):
    """The study's extension point: a stage is one module ending in a Stage."""
    from types import SimpleNamespace

    from skgalvae.study._cache import stage_cache
    from skgalvae.study._report import Report
    from skgalvae.study._stage import Stage, StudyRun

    guide = (Path(__file__).parents[1] / "CONTRIBUTING.md").read_text()
    code = guide.split("`skgalvae/study/_stage_census.py`:\n\n```python\n")[1]
    module = {
        "__name__": "skgalvae.study._stage_census",
        "__package__": "skgalvae.study",
    }
    exec(code.split("```")[0], module)
    stage = module["STAGE"]
    assert isinstance(stage, Stage) and stage.name == "census"

    def run_once():
        run = StudyRun(
            config=StudyConfig(),
            out=tmp_path,
            cached=stage_cache(StudyConfig(), tmp_path / "cache"),
            results={},
            report=Report("t"),
        )
        run.data = SimpleNamespace(classes=pd.Series(["E", "S", "S"]))
        stage.report(run, stage.compute(run))
        return run

    first = run_once()
    assert first.results["census"] == {"S": 2, "E": 1}
    assert "| S | 2 |" in first.report.markdown()
    assert run_once().results == first.results
    # Cached: computed once, kept under the stage's own name.
    assert len(list((tmp_path / "cache").rglob("_count/*/output.pkl"))) == 1
