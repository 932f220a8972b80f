"""Run the whole study: stages in order, cached, with a report at the end."""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from joblib import Memory

from .._version import __version__
from ..survey._lock import exclusive_writer
from ..utils._progress import progress
from . import _paper as paper
from ._config import STUDY_FIELDS, STUDY_MODELS, StudyConfig
from ._data import load_study_data, questions_of, stretcher
from ._report import Report
from ._stages import (
    adapt_domains,
    binomial_se,
    class_ssim,
    classify_questions,
    final_model,
    latent_outliers,
    pca_baseline,
    pictures,
    probe_latents,
    search_latents,
    split_galaxies,
)

__all__ = ["run_study"]

logger = logging.getLogger("skgalvae.study")

_STAGES = (
    "data",
    "latent dimension",
    "classification",
    "domain adaptation",
    "outliers",
    "pictures",
)


def _file_stamp(path):
    """Size and modification time: a changed input file invalidates the cache."""
    if path is None or not os.path.exists(path):
        return None
    stat = os.stat(path)
    return (str(path), stat.st_size, stat.st_mtime_ns)


# The StudyConfig fields that hold paths: the key holds their files' stamps.
_PATH_FIELDS = ("data_path", "catalog_path")
_SEARCH_READS = ("epochs", "batch_size", "cv", "device", "seed", "latents")


# Cached stage bodies. Each declares the StudyConfig fields it reads; its
# cache key (``key``, from :func:`stage_key`) is made of those (and of its
# array and model arguments, which joblib hashes), and it sees a config that
# refuses any other field (:class:`_DeclaredConfig`), so no setting can
# change a result unnoticed.
def _load(key, config):
    return load_study_data(config)


_load.reads = ("data", "data_path", "catalog_path", "image_size", "n_samples", "seed")


def _search(key, X_train, stretch, model, config):
    return search_latents(X_train, stretch, model, config)


_search.reads = _SEARCH_READS


def _final(key, X_train, stretch, model, n_latent, config):
    return final_model(X_train, stretch, model, n_latent, config)


_final.reads = ("final_epochs", "batch_size", "device", "seed")


def _encode(key, model, pca, X_train, X_test, config):
    return {
        "vae": (model.transform(X_train), model.transform(X_test)),
        "pca": (pca.fit(X_train).transform(X_train), pca.transform(X_test)),
    }


_encode.reads = ()


def _probes(key, encoded, classes, config):
    return probe_latents(
        encoded,
        classes,
        n_trees=config.n_trees,
        n_repeats=config.probe_repeats,
        random_state=config.seed,
    )


_probes.reads = ("n_trees", "probe_repeats", "seed")


def _adapt(key, vae, config):
    return adapt_domains(vae, config)


_adapt.reads = (
    "image_size", "n_pairs", "da_epochs", "mmd_weights", "fixed_mmd_weights",
    "test_size", "n_trees", "min_question_samples", "batch_size", "device", "seed",
)  # fmt: skip


def _pictures(key, model, X_test, Z_test, classes_test, config):
    """Arrays of the figures; the t-SNE map's thumbnails among them."""
    return pictures(model, X_test, Z_test, classes_test, config)


_pictures.reads = ("seed", "tsne_max")


class _DeclaredConfig:
    """The :class:`StudyConfig` as one stage sees it: its declared fields only.

    Reading another field raises, naming the stage: a field missing from a
    stage's ``reads`` would be missing from its cache key, and a re-run would
    serve a stale result. Methods run on this view, so the fields they read
    are checked too.
    """

    def __init__(self, config, reads, stage):
        self._config, self._reads, self._stage = config, frozenset(reads), stage

    def __getattr__(self, name):
        if name in STUDY_FIELDS and name not in self._reads:
            raise AttributeError(
                f"The study stage {self._stage!r} reads config.{name} but does not "
                f"declare it in {self._stage}.reads, so its cache key would "
                f"ignore it; add it there."
            )
        attribute = getattr(type(self._config), name, None)
        if callable(attribute):
            return attribute.__get__(self)
        return getattr(self._config, name)


def stage_key(config, reads):
    """Return the cache key of a stage that reads the fields ``reads``.

    Paths enter by their files' size and modification time, so that a changed
    input file invalidates the cache; the package version enters too, since a
    new skgalvae may compute a stage differently.
    """
    key = {"skgalvae": __version__}
    for name in reads:
        value = getattr(config, name)
        key[name] = _file_stamp(value) if name in _PATH_FIELDS else value
    return key


class _Timer:
    def __init__(self):
        self.seconds = {}

    @contextmanager
    def __call__(self, name):
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)


def _save(fig, out, filename):
    fig.savefig(out / filename, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return filename


def run_study(
    config: StudyConfig | None = None,
    out: str | os.PathLike = "report",
    *,
    cache: bool = True,
) -> dict:
    """Reproduce Xu et al. (2023) end to end and write a report.

    Stages, each cached in ``out/cache`` (:class:`joblib.Memory`) so that a
    re-run after a crash, or with one setting changed, redoes only what
    depends on it:

    1. latent dimension: GridSearchCV over ``n_latent`` scored by SSIM for
       each loss; the knee (:class:`~skgalvae.model_selection.KneeRefit`) of
       the first loss picks the model; per-class SSIM on the test galaxies;
    2. classification: a random forest per question on the model's latents,
       and on PCA of the same dimension ("eigengalaxies");
    3. domain adaptation DECaLS -> BASS+MzLS (simulator only);
    4. galaxies beyond ``n_sigma`` in any latent;
    5. reconstructions, latent traversals, a t-SNE map, prior samples.

    Parameters
    ----------
    config : StudyConfig, default=None
        Settings; None runs the default built-in study.
    out : path-like, default="report"
        Directory for ``report.md``, ``report.html``, ``results.json``, the
        PNG figures and the chosen ``model.joblib``.
    cache : bool, default=True
        Cache stages in ``out/cache``.

    Returns
    -------
    dict
        Every number of the run, as written to ``results.json``.
    """
    config = StudyConfig() if config is None else config
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "The study draws figures with matplotlib: pip install 'skgalvae[plot]'."
        ) from exc
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # One run per directory: two would leave one's results beside the
    # other's model.
    with exclusive_writer(str(out), mixing="their results and models"):
        logger.info("study: %s -> %s", config.plan(), out)
        return _run_stages(config, out, cache)


def _run_stages(config, out, cache):
    """Run every stage of :func:`run_study` into ``out`` (locked by the caller)."""
    memory = Memory(out / "cache" if cache else None, verbose=0)

    def cached(function, *args):
        """Run a cached stage body on ``args``: computed once per key."""
        body = memory.cache(function, ignore=["config"])
        view = _DeclaredConfig(config, function.reads, function.__name__.strip("_"))
        return body(stage_key(config, function.reads), *args, config=view)

    timer = _Timer()
    results = {"skgalvae_version": __version__, "config": config.to_dict()}
    results["smoke_run"] = config.smoke
    report = Report("Reproducing Xu et al. (2023) with skgalvae")
    if config.smoke:
        report.text(
            "**Smoke run.** Every stage ran at toy sizes (a few hundred galaxies, "
            "a few epochs) to check that the installation works end to end. Its "
            "numbers and figures are not results: run without --quick for them. "
            "Smaller than the full run: " + "; ".join(config.reduced()) + "."
        )
    bar = progress(total=len(_STAGES), desc="study", unit="stage")
    stages = iter(_STAGES)

    @contextmanager
    def stage():
        name = next(stages)
        bar.set_postfix_str(name)
        with timer(name):
            yield
        bar.update(1)

    with stage():
        data = cached(_load)
        train, test = split_galaxies(data.classes, config.test_size, config.seed)
        X_train, X_test = data.images[train], data.images[test]
        display = slice(None, None, -1) if not data.stretch else None  # RGB -> z,r,g
    results["data"] = {
        "name": data.name,
        "n_galaxies": len(data.images),
        "shape": list(data.images.shape[1:]),
        "n_train": len(train),
        "n_test": len(test),
        "class_counts": data.classes.value_counts().to_dict(),
    }
    report.text(
        f"Data: {data.name}, images {tuple(data.images.shape[1:])}, split "
        f"{len(train)} train / {len(test)} test. skgalvae {__version__}; "
        "every number is in `results.json`."
    )
    glance_at = len(report.blocks)  # the summary goes here once all is known

    # 1. Latent dimension --------------------------------------------------
    with stage():
        searches = [
            cached(_search, X_train, stretcher(data), name) for name in config.models
        ]
        logger.info(
            "study: refitting %s with n_latent=%d for %d epochs on %d galaxies",
            config.models[0],
            searches[0]["chosen"],
            config.final_epochs,
            len(X_train),
        )
        model = cached(
            _final, X_train, stretcher(data), config.models[0], searches[0]["chosen"]
        )
        ssim = class_ssim(model, X_test, data.classes.iloc[test])
        joblib.dump(model, out / "model.joblib")
    results["latent_dimension"] = {"searches": searches, "chosen": model[-1].n_latent}
    results["latent_dimension"].update(ssim)
    _report_latents(report, searches, ssim, model, out, config)

    # 2. Classification ----------------------------------------------------
    with stage():
        n_latent = model[-1].n_latent
        n_pca = min(n_latent, len(train), int(np.prod(data.images.shape[1:])))
        pca = pca_baseline(stretcher(data), n_pca, config.seed)
        encoded = cached(_encode, model, pca, X_train, X_test)
        questions = questions_of(data)
        labels_train, labels_test = data.labels.iloc[train], data.labels.iloc[test]
        classification = {
            name: classify_questions(
                Z_tr,
                labels_train,
                {"test": Z_te},
                labels_test,
                questions,
                n_trees=config.n_trees,
                min_samples=config.min_question_samples,
                random_state=config.seed,
                desc=f"  {name.upper()} forests",
            )
            for name, (Z_tr, Z_te) in encoded.items()
        }
        classes = pd.concat([data.classes.iloc[train], data.classes.iloc[test]])
        probes = cached(_probes, encoded, classes.to_numpy())
    results["classification"] = classification
    results["probes"] = probes
    _report_classification(report, classification, n_latent, n_pca, out)
    _report_probes(report, probes)

    # 3. Domain adaptation -------------------------------------------------
    with stage():
        if data.is_simulated:
            adaptation, da_arrays = cached(_adapt, model[-1])
        else:
            adaptation = {
                "skipped": "needs the same galaxies imaged by two surveys; the "
                "built-in simulator renders them (make_survey_pairs)"
            }
    results["domain_adaptation"] = adaptation
    _report_adaptation(
        report, adaptation, da_arrays if data.is_simulated else None, out
    )

    # 4. Outliers ----------------------------------------------------------
    with stage():
        Z_all = np.empty((len(data.images), n_latent), dtype=np.float32)
        Z_all[train], Z_all[test] = encoded["vae"]
        outliers, sigma = latent_outliers(Z_all, config.n_sigma, data.truth)
    results["outliers"] = outliers
    _report_outliers(report, outliers, sigma, data, model, out, display)

    # 5. Pictures ----------------------------------------------------------
    with stage():
        arrays = cached(
            _pictures,
            model,
            X_test,
            encoded["vae"][1],
            data.classes.iloc[test].to_numpy(),
        )
    _report_pictures(report, arrays, out, display)
    bar.close()

    report.insert(glance_at, _glance(results))
    results["timings_s"] = timer.seconds
    results["environment"] = _environment(model[-1].device_)
    report.heading("Run settings, versions and timings")
    report.table(
        ["setting", "value"],
        [(k, _setting(v)) for k, v in config.to_dict().items()]
        + list(results["environment"].items()),
    )
    report.table(["stage", "seconds"], list(timer.seconds.items()))
    results["files"] = {k: str(v) for k, v in report.write(out, results).items()}
    return results


def _environment(device):
    """Versions and the device of the run, for the report and results.json."""
    import platform

    import sklearn
    import torch

    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    return {
        "skgalvae": __version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
        "device used": f"{device} ({name}), {os.cpu_count()} CPU cores",
    }


def _setting(value):
    """Show a settings value as the command line takes it."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return "-" if value is None else value


# --------------------------------------------------------------- report parts
def adaptation_verdicts(adaptation):
    """Say in words what each adapted encoder changed, worse as well as better.

    Compares each adapted encoder with the one before adaptation: the
    relative paired latent MSE and the domain AUC (alignment), the DECaLS
    forest's mean accuracy on BASS+MzLS (transfer) and its mean accuracy on
    DECaLS (what the source survey kept), over the questions scored. A
    change of the AUC or an accuracy within its binomial standard error
    (from the test pairs, and for accuracies the questions scored) is
    called a tie.

    Parameters
    ----------
    adaptation : dict
        The study's ``results["domain_adaptation"]``.

    Returns
    -------
    list of str
        One sentence per adapted encoder.
    """
    shift, accuracy = adaptation["latent_shift"], adaptation["accuracy"]
    before, *adapted = list(shift)
    n_test = adaptation.get("n_test_pairs")

    def mean_accuracy(encoder, test):
        return _mean(a.get(test) for a in accuracy[encoder].values())

    def n_scored(encoder, test):
        return sum(a.get(test) is not None for a in accuracy[encoder].values())

    def change(name, old, new, lower_is_better, digits=3, n=None):
        # With n independent trials behind a rate, a change within its
        # binomial standard error is a tie, not a verdict.
        if old is None or new is None:
            return None
        if n and abs(new - old) <= binomial_se(old, n):
            verdict = "unchanged, within one standard error"
        elif new == old:
            verdict = "unchanged"
        else:
            better = new < old if lower_is_better else new > old
            verdict = "better" if better else "worse"
        return f"{name} {old:.{digits}f} -> {new:.{digits}f} ({verdict})"

    sentences = []
    for name in adapted:
        parts = [
            change(
                "relative paired latent MSE",
                shift[before]["relative_median_mse"],
                shift[name]["relative_median_mse"],
                lower_is_better=True,
                digits=4,
            ),
            change(
                "domain AUC",
                shift[before].get("domain_auc"),
                shift[name].get("domain_auc"),
                lower_is_better=True,
                n=n_test,
            ),
            change(
                "BASS+MzLS accuracy of the DECaLS forest",
                mean_accuracy(before, "BASS, DECaLS RF"),
                mean_accuracy(name, "BASS, DECaLS RF"),
                lower_is_better=False,
                n=n_test and n_test * n_scored(before, "BASS, DECaLS RF"),
            ),
            change(
                "DECaLS accuracy",
                mean_accuracy(before, "DECaLS"),
                mean_accuracy(name, "DECaLS"),
                lower_is_better=False,
                n=n_test and n_test * n_scored(before, "DECaLS"),
            ),
        ]
        parts = [p for p in parts if p is not None]
        n_worse = sum(p.endswith("(worse)") for p in parts)
        summary = (
            f"made {n_worse} of these {len(parts)} measures worse"
            if n_worse
            else "made none of these measures worse"
        )
        sentences.append(
            f"{name} against {before}: {'; '.join(parts)}. Adaptation {summary}."
        )
    return sentences


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _glance(results):
    """Return the run's headline numbers beside the paper's, as a report part."""
    part = Report("")
    part.heading("This run beside the paper")
    search = results["latent_dimension"]["searches"][0]
    rows = [
        ["knee of SSIM vs n_latent",
         "none: SSIM does not rise" if search["knee"] is None else search["knee"],
         paper.KNEE],
        ["test SSIM of the chosen model", results["latent_dimension"]["test_ssim"],
         "{:.2f}-{:.2f} per class".format(*paper.CLASS_SSIM_RANGE)],
    ]  # fmt: skip
    classified = {
        q: e["scores"]["test"]["accuracy"]
        for q, e in results["classification"]["vae"].items()
        if "scores" in e and q in paper.CLASSIFICATION_ACCURACY
    }
    if classified:
        rows.append(
            [f"mean RF accuracy, {len(classified)} questions run",
             _mean(classified.values()),
             _mean(paper.CLASSIFICATION_ACCURACY[q] for q in classified)]
        )  # fmt: skip
    probes = pd.DataFrame(results["probes"]["rows"]).set_index(["probe", "features"])
    if ("rf", "vae") in probes.index:
        vae, pca = probes.loc[("rf", "vae")], probes.loc[("rf", "pca")]
        rows.append(
            [f"RF balanced accuracy on latents vs PCA, "
             f"{results['probes']['n_folds']} folds",
             f"{_probe_cell(vae)} vs {_probe_cell(pca)}: {vae['verdict']}",
             "not compared"]
        )  # fmt: skip
    accuracy = results["domain_adaptation"].get("accuracy", {})
    if len(accuracy) > 1:  # the encoder before DA and the first adapted one
        before, after = list(accuracy)[:2]
        asked = [
            q
            for q, e in accuracy[before].items()
            if "BASS, RF retrained" in e and q in paper.ADAPTATION_ACCURACY
        ]
        if asked:
            run = [
                _mean(accuracy[e][q].get("BASS, RF retrained") for q in asked)
                for e in (before, after)
            ]
            published = [
                _mean(paper.ADAPTATION_ACCURACY[q][i] for q in asked) for i in (1, 2)
            ]
            rows.append(
                [f"BASS+MzLS accuracy before -> after DA, {len(asked)} questions",
                 "{:.3f} -> {:.3f}".format(*run),
                 "{:.3f} -> {:.3f}".format(*published)]
            )  # fmt: skip
    outliers = results["outliers"]
    if outliers["n_sigma"] == paper.OUTLIERS["n_sigma"]:
        rows.append(
            [f"outliers beyond {outliers['n_sigma']:g} sigma",
             f"{100 * outliers['one-pass']['fraction']:.2f}%",
             f"{100 * paper.OUTLIERS['fraction']:.3f}%"]
        )  # fmt: skip
    part.table(["", "this run", "paper"], rows)
    part.text(
        "The paper's numbers come from 314,000 GZD-5 galaxies at 3x256x256 and "
        "3,434 galaxies imaged by both surveys; this run's from its own data "
        "and sizes (above), so the two agree in kind more than in value. Each "
        "section below repeats the paper's number beside this run's."
    )
    return part


def _model_words(name):
    """Describe a study model in a few words for the report."""
    if name == "skgalvae":
        return "is VAETransformer's default (residual network, calibrated Gaussian)"
    if name == "pose-free":
        return (
            'is the same with pose-free latents (`invariance="dihedral"`: the '
            "decoder draws each galaxy in a pose of its own and the likelihood "
            "keeps the best of the 8 flips and quarter turns)"
        )
    params = STUDY_MODELS[name]
    return (
        f"is the study's network with the summed "
        f"{'squared' if params['likelihood'] == 'sse' else 'absolute'} error"
    )


def _report_latents(report, searches, ssim, model, out, config):
    from ._figures import plot_class_ssim, plot_latent_search

    report.heading("1. Latent dimension (Sec. 4.1, Fig. 3-4)")
    columns = ["n_latent"]
    for s in searches:
        columns += [f"SSIM ({s['model']})", f"active latents ({s['model']})"]

    def score_cell(search, i):  # a single validation split has no spread to show
        spread = f" ± {search['std_ssim'][i]:.3f}" if config.cv > 1 else ""
        return f"{search['mean_ssim'][i]:.3f}{spread}"

    rows = [
        [n]
        + [
            cell
            for s in searches
            for cell in (score_cell(s, i), f"{s['active_latents'][i]:.0f}/{n}")
        ]
        for i, n in enumerate(searches[0]["n_latent"])
    ]
    report.table(columns, rows)
    report.text(
        "Models: "
        + "; ".join(f"`{name}` {_model_words(name)}" for name in config.models)
        + ". Active latents are those whose posterior mean varies across the "
        "training galaxies (variance > 0.01)."
    )
    for search in searches:  # a plain sentence where there is no knee
        spread = max(search["mean_ssim"]) - min(search["mean_ssim"])
        if search["ssim_rises"]:
            continue
        if spread < 0.01:
            why = (
                f"varies by only {spread:.3f} across the candidates: at these "
                "settings n_latent barely matters"
            )
        else:
            why = (
                f"does not rise with n_latent ({search['mean_ssim'][0]:.3f} at "
                f"{search['n_latent'][0]}, {search['mean_ssim'][-1]:.3f} at "
                f"{search['n_latent'][-1]}): the larger models are undertrained "
                "at these settings (more epochs or galaxies)"
            )
        report.text(
            f"**No knee for {search['model']}.** Its validation SSIM {why}, so "
            "no latent dimension is picked from it."
        )
    knees = ", ".join(
        f"{s['model']}: {s['knee']} (90%-of-gain rule: {s['knee_fraction_rule']})"
        for s in searches
        if s["knee"] is not None
    )
    chosen = searches[0]
    how = (
        "at its knee"
        if chosen["knee"] is not None
        else f"at the candidate nearest the paper's choice, {paper.KNEE}, for "
        "want of a knee"
    )
    report.text(
        (
            f"Knee (Kneedle rule, skgalvae.model_selection.KneeRefit): {knees}. "
            if knees
            else ""
        )
        + f"The chosen model, {chosen['model']} with n_latent = "
        f"{model[-1].n_latent} ({how}), is refit on all training galaxies for "
        f"{model[-1].max_epochs} epochs and saved as `model.joblib`; its test "
        f"SSIM is {ssim['test_ssim']:.3f}. The paper: SSIM rises monotonically "
        f"with n_latent, with its knee near {paper.KNEE} (314,000 galaxies at "
        "3x256x256)."
    )
    report.figure(
        _save(plot_latent_search(searches), out, "latent_search.png"),
        "Validation SSIM versus n_latent; stars mark the knees.",
    )
    report.table(
        ["class", "mean SSIM", "std", "n"],
        [[c, v["mean"], v["std"], v["n"]] for c, v in ssim["per_class"].items()],
    )
    low, high = paper.CLASS_SSIM_RANGE
    report.text(
        f"The paper's per-class mean SSIM spans {low:.2f}-{high:.2f}, cigars and "
        "ellipticals best, detailed disks worst."
    )
    report.figure(
        _save(plot_class_ssim(ssim["per_class"]), out, "class_ssim.png"),
        "Test SSIM per first-level class.",
    )


def _with_se(scores):
    """Write an accuracy with its standard error, e.g. ``0.882 ± 0.015``."""
    return f"{scores['accuracy']:.3f} ± {scores['accuracy_se']:.3f}"


def _report_classification(report, classification, n_latent, n_pca, out):
    from ._figures import plot_classification

    report.heading("2. Classification on latents (Sec. 4.2, Table 3)")
    report.text(
        f"A random forest per question on the {n_latent} VAE latents, and on "
        f"{n_pca} PCA components of the same input pixels (the linear "
        "'eigengalaxy' baseline), scored on the test galaxies. Accuracy is "
        "given with its standard error (binomial, from the number of test "
        "galaxies); 'majority' is the accuracy of always answering the "
        "training set's most common class, the floor a forest must clear; "
        "balanced accuracy is the mean recall over classes (0.5 for two "
        "classes guessed blindly), F1 the macro average."
    )
    rows, floor = [], []
    for question, entry in classification["vae"].items():
        counts = f"{entry['n_train']}/{entry['n_test']}"
        published = paper.CLASSIFICATION_ACCURACY.get(question)
        if "skipped" in entry:
            rows.append(
                [question, counts, f"skipped: {entry['skipped']}"]
                + [None] * 6
                + [published]
            )
            continue
        v = entry["scores"]["test"]
        p = classification["pca"][question]["scores"]["test"]
        majority = entry["majority"]["accuracy"]
        rows.append(
            [question, counts, majority, _with_se(v), v["balanced_accuracy"],
             v["f1"], _with_se(p), p["balanced_accuracy"], published]
        )  # fmt: skip
        if v["accuracy"] - majority <= 2 * v["accuracy_se"]:
            floor.append(f"{question} ({entry['majority']['class']!r}, {majority:.3f})")
    report.table(
        ["question", "n train/test", "majority", "VAE accuracy", "balanced",
         "F1", "PCA accuracy", "PCA balanced", "paper accuracy (Table 3)"],
        rows,
    )  # fmt: skip
    if floor:
        report.text(
            "Not clearly above always answering the most common class (within "
            "two standard errors of it): " + "; ".join(floor) + ". These "
            "accuracies say nothing about morphology."
        )
    if any("scores" in e for e in classification["vae"].values()):
        report.figure(
            _save(
                plot_classification(
                    classification["vae"],
                    classification["pca"],
                    paper=paper.CLASSIFICATION_ACCURACY,
                ),
                out,
                "classification.png",
            ),
            "Test accuracy per question: VAE latents versus PCA; black marks "
            "show the paper's Table 3.",
        )


def _probe_cell(row):
    """Write a probe's fold scores, e.g. ``0.712 ± 0.025``."""
    return f"{row['mean']:.3f} ± {row['sd']:.3f}"


def _report_probes(report, probes):
    rows = pd.DataFrame(probes["rows"])
    encoders = [name for name in dict.fromkeys(rows["features"]) if name != "pca"]
    report.text(
        f"**Three probes, with their spread.** The same latents of all "
        f"{probes['n_galaxies']} galaxies (the encoders never saw a label) "
        "judged by a random forest, logistic regression and 10 nearest "
        f"neighbours on the galaxies' classes, over {probes['n_folds']} "
        "stratified folds: balanced accuracy, mean ± standard deviation over "
        "the folds. Each encoder is tested against PCA on the same folds "
        "(corrected resampled t-test, Nadeau & Bengio 2003); a difference "
        "with p ≥ 0.05 is a tie."
    )
    table = []
    for probe, group in rows.groupby("probe", sort=False):
        by_name = group.set_index("features")
        for name in encoders:
            row = by_name.loc[name]
            table.append(
                [probe, name.upper(), _probe_cell(by_name.loc["pca"]), _probe_cell(row),
                 f"{row['difference']:+.3f} (p = {row['p_value']:.3f})",
                 row["verdict"]]
            )  # fmt: skip
    report.table(
        ["probe", "latents", "PCA", "latents' score", "difference", "verdict"],
        table,
    )


def _report_adaptation(report, adaptation, arrays, out):
    from ._figures import image_grid, plot_mse_histogram

    report.heading("3. Domain adaptation DECaLS -> BASS+MzLS (Sec. 5, Table 4)")
    if "skipped" in adaptation:
        report.text(f"Skipped: {adaptation['skipped']}.")
        return
    report.text(
        f"{adaptation['n_pairs']} simulated galaxies imaged by both surveys, "
        f"{adaptation['n_train_pairs']} to adapt on and {adaptation['n_test_pairs']} "
        "to test. Latent MSE is per galaxy between its two surveys' latents; the "
        "paper's spans about {:g} to {:g} per galaxy before DA, the largest "
        "with bright stars.".format(*paper.LATENT_MSE_BEFORE_RANGE)
    )
    report.table(
        ["encoder", "median MSE", "MSE / latent variance", "star", "no star", "MMD²",
         "domain AUC"],
        [
            [name, s["median_mse"], s["relative_median_mse"],
             s["median_mse_star"], s["median_mse_no_star"], s["mmd2"],
             s.get("domain_auc")]
            for name, s in adaptation["latent_shift"].items()
        ],
    )  # fmt: skip
    accuracy = adaptation["accuracy"]
    encoders = list(accuracy)
    questions = list(accuracy[encoders[0]])
    tests = ["DECaLS", "BASS, DECaLS RF", "BASS, RF retrained"]

    def cell(question, test):
        values = [accuracy[e][question].get(test) for e in encoders]
        if values[0] is None:
            return accuracy[encoders[0]][question].get("skipped", "-")
        return " / ".join(f"{v:.3f}" for v in values)

    report.text(
        "Random-forest test accuracy per question; each cell reads "
        f"{' / '.join(encoders)}. 'BASS, DECaLS RF' applies the forest trained "
        "on DECaLS latents to the BASS+MzLS latents of the same test galaxies "
        "(the transfer DA is for); 'BASS, RF retrained' trains on BASS+MzLS "
        "latents, the study's Table 4 protocol."
    )
    report.text(
        "The paper's Table 4 reads DECaLS before DA / BASS+MzLS before DA / "
        "BASS+MzLS after DA, each with the forest retrained (70/30) on that "
        "survey's latents of its 3,434 overlap galaxies."
    )

    def published(question):
        values = paper.ADAPTATION_ACCURACY.get(question)
        return None if values is None else " / ".join(f"{v:.3f}" for v in values)

    report.table(
        ["question", *tests, "paper (Table 4)"],
        [[q] + [cell(q, t) for t in tests] + [published(q)] for q in questions],
    )
    for sentence in adaptation_verdicts(adaptation):
        report.text(sentence)
    report.figure(
        _save(plot_mse_histogram(arrays["mse"]), out, "da_mse_histogram.png"),
        "Paired latent MSE per test galaxy, before and after domain adaptation.",
    )
    # Both ends in rising order, so the MSE grows left to right throughout.
    lowest, highest = arrays["lowest"], arrays["highest"][::-1]
    order = np.concatenate([lowest, highest])
    mse = arrays["mse"]["before"][order]
    ends = ["closest"] * len(lowest) + ["farthest"] * len(highest)
    report.figure(
        _save(
            image_grid(
                [arrays["X_source"][order], arrays["X_target"][order]],
                ["DECaLS", "BASS+MzLS"],
                [f"{end}\nMSE {m:.2g}" for end, m in zip(ends, mse, strict=True)],
            ),
            out,
            "da_pairs.png",
        ),
        f"The {len(lowest)} pairs the VAE puts closest together and the "
        f"{len(highest)} it puts farthest apart (latent MSE before DA, rising "
        "left to right).",
    )


def _report_outliers(report, outliers, sigma, data, model, out, display):
    from ._figures import image_grid

    report.heading("4. Latent outliers (Sec. 6)")
    report.text(
        f"Galaxies beyond {outliers['n_sigma']:g} standard deviations in some "
        f"latent, of {outliers['n_galaxies']} (skgalvae.LatentOutlierDetector): "
        "the one-pass mean and standard deviation, and the study code's "
        "iterative clipping."
    )
    simulated = "n_defects" in outliers
    columns = ["rule", "outliers", "fraction", "largest σ"]
    if simulated:
        columns += [
            f"defect or star (of {outliers['n_defects']} + {outliers['n_star']})",
            "defect recall",
            "top-ranked precision",
        ]
    rows = []
    for rule in ("one-pass", "iterative"):
        entry = outliers[rule]
        row = [rule, entry["n_outliers"], f"{100 * entry['fraction']:.2f}%",
               entry["max_sigma"]]  # fmt: skip
        if simulated:
            row += [entry["outliers_defect_or_star"], entry["defect_recall"],
                    entry["top_ranked_precision"]]  # fmt: skip
        rows.append(row)
    if outliers["n_sigma"] == paper.OUTLIERS["n_sigma"]:
        row = ["paper (314,000 galaxies)", paper.OUTLIERS["n_outliers"],
               f"{100 * paper.OUTLIERS['fraction']:.3f}%", None]  # fmt: skip
        rows.append(row + [None] * (len(columns) - len(row)))
    report.table(columns, rows)
    top = np.argsort(sigma)[::-1][:10]
    report.figure(
        _save(
            image_grid(
                [model[:-1].transform(data.images[top])],
                ["largest σ"],
                [f"{s:.1f}σ" for s in sigma[top]],
                display,
            ),
            out,
            "outliers.png",
        ),
        "The ten galaxies with the largest standardised latent.",
    )


#: Below this fraction of the originals' variation across galaxies, the
#: reconstructions (or a traversal's steps) are said to carry no structure.
FLAT_RECONSTRUCTIONS = 0.2
FLAT_TRAVERSALS = 0.05


def _variation(images, axis=0):
    """Mean over pixels of the standard deviation along ``axis``."""
    return float(np.asarray(images, dtype=float).std(axis=axis).mean())


def _structure_warnings(arrays) -> list[str]:
    """Sentences for pictures that show a model which learned little.

    Reconstructions that barely differ from one galaxy to the next (the mean
    galaxy drawn for all), and traversals whose steps barely change the image,
    are measured against how much the shown originals differ.
    """
    spread = _variation(arrays["originals"])
    if spread == 0:
        return []
    warnings = []
    recon = _variation(arrays["reconstructions"]) / spread
    if recon < FLAT_RECONSTRUCTIONS:
        warnings.append(
            f"**The reconstructions carry almost no structure**: they differ "
            f"from one galaxy to the next {recon:.0%} as much as the originals "
            "do, i.e. the model draws much the same galaxy for all. Train "
            "longer or on more galaxies before reading anything into them."
        )
    walk = _variation(arrays["traversals"].images, axis=1) / spread
    if walk < FLAT_TRAVERSALS:
        warnings.append(
            f"**The traversals barely change the image** (their steps differ "
            f"{walk:.0%} as much as the galaxies do): the traversed latents "
            "carry little the decoder uses."
        )
    return warnings


def _report_pictures(report, arrays, out, display):
    from ._figures import image_grid, plot_tsne

    report.heading("5. Reconstructions, traversals, t-SNE and generation")
    for warning in _structure_warnings(arrays):
        report.text(warning)
    report.figure(
        _save(
            image_grid(
                [arrays["originals"], arrays["reconstructions"]],
                ["original", "reconstruction"],
                list(arrays["shown_classes"]),
                display,
            ),
            out,
            "reconstructions.png",
        ),
        "Test galaxies and their reconstructions.",
    )
    walk = arrays["traversals"]
    report.figure(
        _save(
            image_grid(
                list(walk.images),
                [f"z{d}" for d in walk.dims],
                [f"{s:+.0f}σ" for s in walk.steps],
                display,
            ),
            out,
            "traversals.png",
        ),
        "Latent traversals: the most-used latents varied from -3 to +3 standard "
        "deviations around the median galaxy, the others held.",
    )
    tsne = plot_tsne(
        arrays["tsne"], arrays["tsne_classes"], arrays["tsne_images"], display
    )
    report.figure(
        _save(tsne, out, "tsne.png"),
        "t-SNE of the test galaxies' latents: every galaxy a point coloured by its "
        "first-level class, and one galaxy drawn per cell of a grid over the map, "
        "framed in its class's colour.",
    )
    samples = arrays["samples"]
    report.figure(
        _save(
            image_grid(
                [samples[:8], samples[8:16]], ["N(0, I)", "N(0, I)"], None, display
            ),
            out,
            "prior_samples.png",
        ),
        "Galaxies decoded from latents drawn from the prior N(0, I). Blotches "
        "(dark holes, strong colours) are latents the training never reached: "
        "the fewer galaxies and epochs, the more of them.",
    )
