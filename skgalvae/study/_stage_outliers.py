"""Stage 4, galaxies far out in latent space (Sec. 6)."""

from __future__ import annotations

import numpy as np

from ..vae._outliers import LatentOutlierDetector
from . import _paper as paper
from ._stage import Stage, save_figure

__all__ = ["STAGE", "latent_outliers"]


def latent_outliers(Z, n_sigma, truth=None):
    """Galaxies beyond ``n_sigma`` standard deviations in any latent (Sec. 6).

    :class:`~skgalvae.LatentOutlierDetector` with both of its rules: the
    one-pass mean and standard deviation, and the study code's iterative
    clipping.

    Returns
    -------
    results : dict
        Per rule, the count and fraction of outliers; with the simulator's
        ``truth``, how many are defects or have a bright star, and the recall
        of defects.
    sigma : ndarray of shape (n,)
        Each galaxy's largest absolute standardised latent (one-pass rule).
    """
    results, sigmas = {"n_sigma": n_sigma, "n_galaxies": len(Z)}, {}
    for clipping in ("one-pass", "iterative"):
        detector = LatentOutlierDetector(n_sigma, clipping=clipping).fit(Z)
        sigma = sigmas[clipping] = detector.sigma(Z)
        outlier = detector.predict(Z) == -1
        entry = {
            "n_outliers": int(outlier.sum()),
            "fraction": float(outlier.mean()),
            "max_sigma": float(sigma.max()),
        }
        if truth is not None:
            defect = truth["defect"].to_numpy(bool)
            flagged = defect | truth["star"].to_numpy(bool)
            top = np.argsort(sigma)[::-1][: max(1, int(flagged.sum()))]
            entry.update(
                outliers_defect_or_star=int((outlier & flagged).sum()),
                defect_recall=float(outlier[defect].mean()) if defect.any() else None,
                # Ranking without a threshold: of as many top-ranked galaxies
                # as there are defects and stars, the share that is one.
                top_ranked_precision=float(flagged[top].mean()),
            )
        results[clipping] = entry
    if truth is not None:
        results["n_defects"] = int(truth["defect"].sum())
        results["n_star"] = int(truth["star"].sum())
    return results, sigmas["one-pass"]


def _compute(run):
    data, model = run.data, run.model
    Z_all = np.empty((len(data.images), model[-1].n_latent), dtype=np.float32)
    Z_all[run.train], Z_all[run.test] = run.encoded["vae"]
    outliers, sigma = latent_outliers(Z_all, run.config.n_sigma, data.truth)
    run.results["outliers"] = outliers
    return sigma


def _report(run, sigma):
    _report_outliers(
        run.report,
        run.results["outliers"],
        sigma,
        run.data,
        run.model,
        run.out,
        run.display,
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
        save_figure(
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


STAGE = Stage("outliers", _compute, _report)
