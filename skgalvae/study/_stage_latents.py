"""Stage 1, the latent dimension (Sec. 4.1, Fig. 3-4).

A grid search over ``n_latent`` scored by SSIM for each model, the knee of
the first model's curve, the chosen model refit on every training galaxy,
and its per-class SSIM on the test galaxies.
"""

from __future__ import annotations

import logging

import joblib
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold, ShuffleSplit
from sklearn.pipeline import Pipeline
from skorch.callbacks import Callback

from ..model_selection import KneeRefit, find_knee
from ..utils._progress import progress
from ..vae._vae import VAETransformer
from . import _paper as paper
from ._config import STUDY_MODELS
from ._data import stretcher
from ._stage import Stage, save_figure

logger = logging.getLogger("skgalvae.study")

__all__ = ["STAGE", "class_ssim", "final_model", "search_latents", "ssim_rises"]


def _vae(config, n_train, model, max_epochs, **params):
    return VAETransformer(
        **config.model_params(model),
        max_epochs=max_epochs,
        batch_size=config.batch_size_for(n_train),
        device=config.device,
        random_state=config.seed,
        **params,
    )


class _SharedBar:
    """A progress bar that clones share: ``GridSearchCV`` deep-copies params."""

    def __init__(self, bar):
        self.bar = bar

    def __deepcopy__(self, memo):
        return self


class _EpochTick(Callback):
    """Advance the search's shared progress by one epoch of any of its fits."""

    def __init__(self, shared):
        self.shared = shared

    def on_epoch_end(self, net, **kwargs):
        """Tick once."""
        self.shared.bar.update(1)


def _ssim(estimator, X, y=None):
    """Scorer: the pipeline's own score, the VAE's mean SSIM."""
    return estimator.score(X)


def _active_latents(estimator, X, y=None):
    """Scorer: the fitted VAE's number of active latents (X is not used)."""
    return estimator[-1].n_active_latents_


def search_latents(X_train, stretch, model, config):
    """GridSearchCV over ``n_latent`` scored by SSIM, and its knee.

    Parameters
    ----------
    X_train : ndarray
        Training images.
    stretch : transformer or "passthrough"
        The pipeline's first step.
    model : str
        Name of the VAE in ``STUDY_MODELS``.
    config : StudyConfig
        Sizes and seeds.

    Returns
    -------
    dict
        ``model``, ``n_latent``, ``mean_ssim``, ``std_ssim``,
        ``active_latents`` (mean over splits), ``fit_time_s``, and the
        ``knee`` n_latent by :class:`~skgalvae.model_selection.KneeRefit`.
    """
    n_fit = int(len(X_train) * (0.75 if config.cv == 1 else 1 - 1 / config.cv))
    if config.cv == 1:
        cv = ShuffleSplit(n_splits=1, test_size=0.25, random_state=config.seed)
    else:
        cv = KFold(config.cv, shuffle=True, random_state=config.seed)
    knee_rule = KneeRefit("vae__n_latent", score="mean_test_ssim")
    # Progress counts the epochs of every fit: a fit can take minutes.
    with progress(
        total=len(config.latents) * config.cv * config.epochs,
        desc=f"  n_latent search ({model})",
        unit="epoch",
        leave=False,
    ) as bar:
        tick = [("study_progress", _EpochTick(_SharedBar(bar)))]
        vae = _vae(config, n_fit, model, config.epochs, callbacks=tick)
        search = GridSearchCV(
            Pipeline([("stretch", stretch), ("vae", vae)]),
            {"vae__n_latent": list(config.latents)},
            scoring={"ssim": _ssim, "active": _active_latents},
            cv=cv,
            refit=False,  # the chosen model is refit longer: final_model
            error_score="raise",
        ).fit(X_train)
    results = search.cv_results_
    out = {
        "model": model,
        "n_latent": [int(n) for n in results["param_vae__n_latent"]],
        "mean_ssim": results["mean_test_ssim"].tolist(),
        "std_ssim": results["std_test_ssim"].tolist(),
        "active_latents": results["mean_test_active"].tolist(),
        "fit_time_s": results["mean_fit_time"].tolist(),
    }
    knee = out["n_latent"][knee_rule(results)]
    out["knee_fraction_rule"] = out["n_latent"][
        find_knee(out["n_latent"], out["mean_ssim"], method="fraction")
    ]
    out["ssim_rises"] = ssim_rises(out["mean_ssim"])
    # A knee needs a rising curve; without one, the model is refit at the
    # candidate nearest the paper's choice, and the report says so.
    out["knee"] = knee if out["ssim_rises"] else None
    out["chosen"] = knee if out["ssim_rises"] else _nearest(out["n_latent"], paper.KNEE)
    return out


def ssim_rises(mean_ssim, min_spread=0.01) -> bool:
    """Whether SSIM rises with n_latent enough to have a knee.

    It must vary by at least ``min_spread`` across the candidates and end
    higher than it starts (a falling curve means undertrained large models,
    and the best SSIM then often belongs to a collapsed small one).
    """
    spread = max(mean_ssim) - min(mean_ssim)
    return bool(spread >= min_spread and mean_ssim[-1] > mean_ssim[0])


def _nearest(candidates, value):
    return min(candidates, key=lambda n: (abs(np.log(n / value)), n))


def final_model(X_train, stretch, model, n_latent, config):
    """Fit the chosen VAE pipeline for ``config.final_epochs`` on ``X_train``.

    Its epochs are shown as they pass (a fit of minutes); the model returned
    is quiet again.
    """
    vae = _vae(config, len(X_train), model, config.final_epochs, n_latent=n_latent)
    pipe = Pipeline([("stretch", stretch), ("vae", vae.set_params(verbose=1))])
    pipe.fit(X_train)
    vae.set_params(verbose=0)
    return pipe


def class_ssim(model, X, classes):
    """SSIM of each image's reconstruction, and its mean per class (Fig. 4)."""
    stretched = model[:-1].transform(X)
    ssim = model[-1].score_samples_ssim(stretched)
    frame = pd.DataFrame({"class": np.asarray(classes), "ssim": ssim})
    per_class = frame.groupby("class")["ssim"].agg(["mean", "std", "count"])
    return {
        "test_ssim": float(ssim.mean()),
        "per_class": {
            name: {
                "mean": float(row["mean"]),
                "std": float(row["std"]) if row["count"] > 1 else None,
                "n": int(row["count"]),
            }
            for name, row in per_class.sort_values("mean").iterrows()
        },
    }


_SEARCH_READS = ("epochs", "batch_size", "cv", "device", "seed", "latents")


def _search(key, X_train, stretch, model, config):
    return search_latents(X_train, stretch, model, config)


_search.reads = _SEARCH_READS


def _final(key, X_train, stretch, model, n_latent, config):
    return final_model(X_train, stretch, model, n_latent, config)


_final.reads = ("final_epochs", "batch_size", "device", "seed")


def _compute(run):
    config, data = run.config, run.data
    searches = [
        run.cached(_search, run.X_train, stretcher(data), name)
        for name in config.models
    ]
    logger.info(
        "study: refitting %s with n_latent=%d for %d epochs on %d galaxies",
        config.models[0],
        searches[0]["chosen"],
        config.final_epochs,
        len(run.X_train),
    )
    model = run.model = run.cached(
        _final, run.X_train, stretcher(data), config.models[0], searches[0]["chosen"]
    )
    ssim = class_ssim(model, run.X_test, data.classes.iloc[run.test])
    joblib.dump(model, run.out / "model.joblib")
    run.results["latent_dimension"] = {
        "searches": searches,
        "chosen": model[-1].n_latent,
        **ssim,
    }
    return searches, ssim


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


def _report(run, shown):
    searches, ssim = shown
    report, model, out, config = run.report, run.model, run.out, run.config
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
        save_figure(plot_latent_search(searches), out, "latent_search.png"),
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
        save_figure(plot_class_ssim(ssim["per_class"]), out, "class_ssim.png"),
        "Test SSIM per first-level class.",
    )


STAGE = Stage("latent dimension", _compute, _report)
