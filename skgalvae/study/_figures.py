"""The study's figures, drawn from the stages' results; each returns a Figure."""

from __future__ import annotations

import numpy as np

from ..plotting import plot_image_grid, plot_latent_map

__all__ = [
    "plot_class_ssim",
    "plot_classification",
    "plot_latent_search",
    "plot_mse_histogram",
    "plot_tsne",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_latent_search(searches):
    """SSIM versus n_latent per model, with each knee marked (Fig. 3)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for search in searches:
        x, y = np.array(search["n_latent"]), np.array(search["mean_ssim"])
        line = ax.errorbar(x, y, search["std_ssim"], marker="o", label=search["model"])
        knee = search["knee"]
        if knee is None:  # SSIM does not rise: no knee to mark
            continue
        ax.plot(
            knee,
            y[x == knee][0],
            marker="*",
            markersize=16,
            color=line[0].get_color(),
            linestyle="none",
            label=f"knee ({search['model']}): {knee}",
        )
    ax.set_xscale("log")
    ax.set_xticks(searches[0]["n_latent"], [str(n) for n in searches[0]["n_latent"]])
    ax.minorticks_off()
    ax.set_xlabel("latent dimension n_latent")
    ax.set_ylabel("validation SSIM")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_class_ssim(per_class):
    """Mean reconstruction SSIM per first-level class (Fig. 4)."""
    plt = _pyplot()
    names = list(per_class)
    means = [per_class[n]["mean"] for n in names]
    errors = [per_class[n]["std"] or 0.0 for n in names]
    fig, ax = plt.subplots(figsize=(5.5, 0.4 * len(names) + 1.2))
    ax.barh(names, means, xerr=errors, color="tab:blue", alpha=0.8)
    for i, name in enumerate(names):
        ax.text(0.01, i, f"n={per_class[name]['n']}", va="center", color="white")
    ax.set_xlabel("test SSIM")
    ax.set_xlim(0, 1)
    fig.tight_layout()
    return fig


def plot_classification(vae_scores, pca_scores, metric="accuracy", paper=None):
    """Per-question ``metric`` of the VAE and PCA forests, side by side.

    ``paper`` maps questions to the paper's value, drawn as black marks.
    """
    plt = _pyplot()
    questions = [q for q in vae_scores if "scores" in vae_scores[q]]
    x = np.arange(len(questions))
    fig, ax = plt.subplots(figsize=(1.0 * len(questions) + 2, 3.8))
    for offset, (name, scores) in zip(
        (-0.2, 0.2), (("VAE", vae_scores), ("PCA", pca_scores)), strict=True
    ):
        ax.bar(
            x + offset,
            [scores[q]["scores"]["test"][metric] for q in questions],
            width=0.4,
            label=name,
        )
    shown = [i for i, q in enumerate(questions) if q in (paper or {})]
    if shown:  # only questions the paper has: no empty legend entry
        ax.scatter(
            x[shown],
            [paper[questions[i]] for i in shown],
            marker="_",
            s=900,
            linewidths=2.5,
            color="black",
            label="paper (Table 3)",
            zorder=3,
        )
    ax.set_xticks(x, questions, rotation=30, ha="right")
    ax.set_ylabel(f"test {metric}")
    ax.set_ylim(0, 1.05)
    ax.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=3,
        frameon=False,
        fontsize=8,
        markerscale=0.4,
    )
    fig.tight_layout()
    return fig


def plot_mse_histogram(mse):
    """Histograms of per-galaxy paired latent MSE, before and after DA (Fig. 6)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    values = np.concatenate(list(mse.values()))
    bins = np.logspace(np.log10(max(values.min(), 1e-8)), np.log10(values.max()), 40)
    for name, m in mse.items():
        ax.hist(m, bins=bins, histtype="step", linewidth=1.8, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("paired latent MSE, DECaLS vs BASS+MzLS")
    ax.set_ylabel("galaxies")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_tsne(coordinates, classes, images, display_bands=None):
    """Plot the t-SNE map of the latents with thumbnails, by first-level class.

    :func:`~skgalvae.plotting.plot_latent_map` on the stage's coordinates
    (the paper's Fig. 2 as a scatter, here with the galaxies on it).
    """
    _pyplot()  # matplotlib, with the study's backend
    if display_bands is not None:
        images = np.asarray(images)[:, display_bands]
    return plot_latent_map(images, coordinates, labels=classes, figsize=(7, 7))


def image_grid(rows, row_labels, column_labels=None, display_bands=None):
    """:func:`~skgalvae.plotting.plot_image_grid` with the data's band order."""
    if display_bands is not None:
        rows = [np.asarray(r)[:, display_bands] for r in rows]
    return plot_image_grid(rows, row_labels=row_labels, column_labels=column_labels)
