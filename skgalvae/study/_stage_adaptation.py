"""Stage 3, domain adaptation DECaLS -> BASS+MzLS (Sec. 5, Table 4).

On simulated survey pairs (the same galaxies rendered by both surveys): the
package's default adaptation and the paper's exact method, each judged by
the paired latent MSE, the domain AUC, and the DECaLS forest on BASS+MzLS.
Real data sets have no pairs, and the stage says so.
"""

from __future__ import annotations

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split

from ..datasets import make_survey_pairs
from ..metrics import domain_auc, mmd2
from ..metrics._mmd import _paired_mse
from ..preprocessing import MTFStretch
from ..utils._domains import survey_latents
from ..utils._progress import progress
from ..vae._domain_adaptation import DomainAdaptedVAETransformer
from . import _paper as paper
from ._stage import Stage, mean_of_scored, save_figure
from ._stage_classification import binomial_se, classify_questions

__all__ = ["STAGE", "adapt_domains", "adaptation_verdicts", "latent_shift"]


def latent_shift(Z_source, Z_target, star=None) -> dict:
    """How far apart an encoder puts the same galaxies seen by two surveys.

    Parameters
    ----------
    Z_source, Z_target : ndarray of shape (n_galaxies, n_latent)
        One encoder's latents of the same galaxies, row for row, in the two
        surveys (e.g. a VAE's, or a domain-adapted one's).
    star : ndarray of bool, default=None
        Galaxies with a bright star in the cutout, to split the MSE by.

    Returns
    -------
    dict
        ``median_mse``, ``mean_mse`` and ``mse`` (per galaxy, as
        :func:`~skgalvae.metrics.paired_latent_mse`); ``relative_median_mse``,
        the median over the source latents' mean variance (shrinking the
        latent space lowers the raw MSE without aligning anything, this ratio
        does not); ``mmd2`` between the two latent sets; ``domain_auc``, the
        cross-validated AUC of a classifier telling the surveys apart (0.5:
        aligned; :func:`~skgalvae.metrics.domain_auc`); with ``star``, the
        median MSE with and without a star and the star share among the 20
        largest MSEs.
    """
    mse = _paired_mse(Z_source, Z_target)
    spread = float(np.var(Z_source, axis=0).mean())
    out = {
        "median_mse": float(np.median(mse)),
        "relative_median_mse": float(np.median(mse)) / spread,
        "mean_mse": float(np.mean(mse)),
        "mmd2": float(mmd2(Z_source, Z_target)),
        "domain_auc": domain_auc(Z_source, Z_target, paired=True),
        "mse": mse,
    }
    if star is not None:
        star = np.asarray(star, dtype=bool)
        out.update(
            median_mse_star=float(np.median(mse[star])) if star.any() else None,
            median_mse_no_star=float(np.median(mse[~star])) if (~star).any() else None,
            top20_star_fraction=float(star[np.argsort(mse)[-20:]].mean()),
        )
    return out


def _stretched(images):
    return MTFStretch().fit_transform(images)


def _method_words(da):
    """Name a fitted adaptation by what it did, e.g. ``anchored, cluster_mmd, ...``."""
    encoder = {None: "shared", "latents": "shared, source latents held"}.get(
        da.anchor_, "anchored"
    )
    fixed = " fixed" if da.weighting == "fixed" else ""
    return f"{encoder}, {da.adaptation_}, mmd_weight={da.mmd_weight:g}{fixed}"


def adapt_domains(vae, config):
    """Domain adaptation DECaLS -> BASS+MzLS on simulated survey pairs (Sec. 5).

    The same galaxies rendered by both surveys are split 70/30 by galaxy; a
    :class:`~skgalvae.DomainAdaptedVAETransformer` per ``config.mmd_weights``
    (the package's default from a fitted VAE: the source anchored,
    cluster-wise MMD) and
    per ``config.fixed_mmd_weights`` (the study's shared encoder and MMD) is
    adapted from ``vae`` on the training pairs.

    Returns
    -------
    results : dict
        Paired latent MSE and MMD^2 before and after, and the Table 4
        accuracies per question.
    arrays : dict
        Per-galaxy MSEs and the test image pairs, for the figures.
    """
    decals, bass = make_survey_pairs(
        config.n_pairs, image_size=config.image_size, random_state=config.seed + 1
    )
    X_s, X_t = _stretched(decals.images), _stretched(bass.images)
    train, test = train_test_split(
        np.arange(config.n_pairs), test_size=config.test_size, random_state=config.seed
    )
    encoders = {"before": vae}
    # The package's default from a fitted VAE, then the study's own method
    # (one shared encoder, MMD, its fixed lambda).
    study_method = {"anchor": None, "adaptation": "mmd", "weighting": "fixed"}
    runs = [("", {"mmd_weight": w}) for w in config.mmd_weights] + [
        ("study: ", {**study_method, "mmd_weight": w}) for w in config.fixed_mmd_weights
    ]
    for prefix, params in progress(runs, desc="  adapting", leave=False):
        da = DomainAdaptedVAETransformer(
            n_latent=vae.n_latent,
            architecture=vae.architecture_,
            hidden_dims=vae.hidden_dims_,
            likelihood=vae.likelihood_,
            noise=vae.noise,
            lr_schedule=vae.lr_schedule,
            invariance=vae.invariance,
            max_epochs=config.da_epochs,
            batch_size=max(2, config.batch_size_for(len(train))),
            paired=True,
            init=FrozenEstimator(vae),
            device=config.device,
            random_state=config.seed,
            verbose=1,  # epochs shown as they pass
            **params,
        ).fit(X_s[train], X_target=X_t[train])
        encoders[f"after ({prefix}{_method_words(da)})"] = da.set_params(verbose=0)

    star = decals.params["star"].to_numpy(bool)[test]
    labels = decals.labels
    forests = dict(
        n_trees=config.n_trees,
        min_samples=config.min_question_samples,
        random_state=config.seed,
    )
    shift, accuracy, mse = {}, {}, {}
    for name, encoder in encoders.items():
        Z_s = survey_latents(encoder, X_s, "source")
        Z_t = survey_latents(encoder, X_t, "target")
        shift[name] = latent_shift(Z_s[test], Z_t[test], star)
        mse[name] = shift[name].pop("mse")
        transfer = classify_questions(
            Z_s[train],
            labels.iloc[train],
            {"DECaLS": Z_s[test], "BASS, DECaLS RF": Z_t[test]},
            labels.iloc[test],
            **forests,
        )
        retrained = classify_questions(
            Z_t[train],
            labels.iloc[train],
            {"BASS, RF retrained": Z_t[test]},
            labels.iloc[test],
            **forests,
        )
        accuracy[name] = {
            q: {
                test_name: scores["accuracy"]
                for entry in (transfer[q], retrained[q])
                for test_name, scores in entry.get("scores", {}).items()
            }
            | ({"skipped": transfer[q]["skipped"]} if "skipped" in transfer[q] else {})
            for q in labels.columns
        }
    order = np.argsort(mse["before"])
    results = {
        "n_pairs": config.n_pairs,
        "n_train_pairs": len(train),
        "n_test_pairs": len(test),
        "latent_shift": shift,
        "accuracy": accuracy,
    }
    arrays = {
        "mse": mse,
        "lowest": order[:5],
        "highest": order[::-1][:5],
        "X_source": X_s[test],
        "X_target": X_t[test],
    }
    return results, arrays


def _adapt(key, vae, config):
    return adapt_domains(vae, config)


_adapt.reads = (
    "image_size", "n_pairs", "da_epochs", "mmd_weights", "fixed_mmd_weights",
    "test_size", "n_trees", "min_question_samples", "batch_size", "device", "seed",
)  # fmt: skip


def _compute(run):
    if not run.data.is_simulated:
        run.results["domain_adaptation"] = {
            "skipped": "needs the same galaxies imaged by two surveys; the "
            "built-in simulator renders them (make_survey_pairs)"
        }
        return None
    adaptation, arrays = run.cached(_adapt, run.model[-1])
    run.results["domain_adaptation"] = adaptation
    return arrays


def _report(run, arrays):
    _report_adaptation(run.report, run.results["domain_adaptation"], arrays, run.out)


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
        return mean_of_scored(a.get(test) for a in accuracy[encoder].values())

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
        save_figure(plot_mse_histogram(arrays["mse"]), out, "da_mse_histogram.png"),
        "Paired latent MSE per test galaxy, before and after domain adaptation.",
    )
    # Both ends in rising order, so the MSE grows left to right throughout.
    lowest, highest = arrays["lowest"], arrays["highest"][::-1]
    order = np.concatenate([lowest, highest])
    mse = arrays["mse"]["before"][order]
    ends = ["closest"] * len(lowest) + ["farthest"] * len(highest)
    report.figure(
        save_figure(
            image_grid(
                [arrays["X_source"][order], arrays["X_target"][order]],
                ["DECaLS", "BASS+MzLS"],
                [f"{end}\nMSE {m:.3g}" for end, m in zip(ends, mse, strict=True)],
            ),
            out,
            "da_pairs.png",
        ),
        f"The {len(lowest)} pairs the VAE puts closest together and the "
        f"{len(highest)} it puts farthest apart (latent MSE before DA, rising "
        "left to right).",
    )


STAGE = Stage("domain adaptation", _compute, _report)
