"""The report's opening table: this run's headline numbers beside the paper's."""

from __future__ import annotations

import pandas as pd

from . import _paper as paper
from ._report import Report
from ._stage import mean_of_scored
from ._stage_classification import probe_cell


def glance_table(results):
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
             mean_of_scored(classified.values()),
             mean_of_scored(paper.CLASSIFICATION_ACCURACY[q] for q in classified)]
        )  # fmt: skip
    probes = pd.DataFrame(results["probes"]["rows"]).set_index(["probe", "features"])
    if ("rf", "vae") in probes.index:
        vae, pca = probes.loc[("rf", "vae")], probes.loc[("rf", "pca")]
        rows.append(
            [f"RF balanced accuracy on latents vs PCA, "
             f"{results['probes']['n_folds']} folds",
             f"{probe_cell(vae)} vs {probe_cell(pca)}: {vae['verdict']}",
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

        def before_after(column):
            return "{:.3f} -> {:.3f}".format(
                *(mean_of_scored(accuracy[e][q].get(column) for q in asked)
                  for e in (before, after))
            )  # fmt: skip

        if asked:
            published = [
                mean_of_scored(paper.ADAPTATION_ACCURACY[q][i] for q in asked)
                for i in (1, 2)
            ]
            # The paper retrains the forest on each survey's latents (Table
            # 4); transfer, the DECaLS forest applied to BASS+MzLS, it does
            # not measure.
            rows.append(
                [f"BASS+MzLS accuracy before -> after DA, forest retrained "
                 f"(Table 4), {len(asked)} questions",
                 before_after("BASS, RF retrained"),
                 "{:.3f} -> {:.3f}".format(*published)]
            )  # fmt: skip
            rows.append(
                [f"BASS+MzLS accuracy before -> after DA, DECaLS forest, "
                 f"{len(asked)} questions",
                 before_after("BASS, DECaLS RF"),
                 "not measured"]
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
