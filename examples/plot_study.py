"""
Reproduce Xu et al. (2023) from Python
======================================

:func:`skgalvae.study.run_study` is what ``skgalvae study`` runs: a grid
search of the latent dimension scored by SSIM with the knee chosen by
:class:`~skgalvae.model_selection.KneeRefit`, random forests on the latents for
the nine Galaxy Zoo DECaLS questions next to a PCA baseline, domain adaptation
DECaLS -> BASS+MzLS, latent outliers, and pictures. It returns every number
and writes a report directory. Here it runs on the built-in simulator and the
example shows a few of the results.

Run::

    python examples/plot_study.py            # about 6 min on 2 CPU cores
    python examples/plot_study.py --quick    # tiny sizes, well under a minute

``skgalvae study`` runs the full-size study (``StudyConfig()``, about 15
minutes on 2 CPU cores).
"""

# %%
# Settings
# --------
# A :class:`~skgalvae.study.StudyConfig` holds every size of the run; its
# defaults are what ``skgalvae study`` runs. This one is smaller so that the
# example runs in minutes: 1,000 simulated galaxies at 64x64, five latent
# dimensions, the residual VAE only, fewer epochs and survey pairs.
import matplotlib.pyplot as plt

from skgalvae._gallery import example_settings
from skgalvae.study import StudyConfig, run_study

settings = example_settings("plot_study")
sizes = dict(
    n_samples=1000,
    latents=(2, 4, 8, 16, 40),
    models=("skgalvae",),
    epochs=6,
    final_epochs=12,
    n_pairs=400,
    da_epochs=4,
    fixed_mmd_weights=(),
)
if settings.quick:
    sizes = dict(
        n_samples=160,
        latents=(2, 4, 8),
        epochs=2,
        final_epochs=2,
        n_pairs=60,
        da_epochs=1,
        mmd_weights=(1.0,),
        n_trees=50,
        min_question_samples=8,
        tsne_max=60,
    )
config = StudyConfig(device=settings.device, **sizes)

# %%
# The run
# -------
# Each stage is cached under the output directory (``cache=True``): running
# again with the same settings only rewrites the report.
results = run_study(config, settings.out)

# %%
# The latent dimension
# --------------------
# Validation SSIM per candidate n_latent and the knee that
# :class:`~skgalvae.model_selection.KneeRefit` picks: where adding latents
# stops paying.
for search in results["latent_dimension"]["searches"]:
    pairs = zip(search["n_latent"], search["mean_ssim"], strict=True)
    print(search["model"], {n: round(s, 3) for n, s in pairs}, "knee", search["knee"])

# %%
# Classification
# --------------
# Test accuracy of a random forest per question, on the VAE latents and on
# PCA components of the same dimension (the linear baseline).
for question, entry in results["classification"]["vae"].items():
    if "skipped" in entry:
        print(f"{question:>14}: skipped ({entry['skipped']})")
        continue
    vae = entry["scores"]["test"]["accuracy"]
    pca = results["classification"]["pca"][question]["scores"]["test"]["accuracy"]
    print(f"{question:>14}: VAE {vae:.3f}  PCA {pca:.3f}")

# %%
# Latents against PCA, with their spread
# --------------------------------------
# Every galaxy's latents judged by three probes on its first-level class
# over repeated folds, each tested against PCA on the same folds
# (:func:`~skgalvae.model_selection.compare_features`): a difference with
# p >= 0.05 is a tie.
for row in results["probes"]["rows"]:
    print(
        f"{row['probe']:>6} {row['features']:>3}: {row['mean']:.3f} +- "
        f"{row['sd']:.3f}  {row['verdict']}"
    )

# %%
# The report
# ----------
# ``report.md`` and ``report.html`` hold every table and figure, with the
# paper's numbers beside this run's; ``results.json`` every number. Two of
# the figures: the SSIM curve with its knee, and a t-SNE map of the test
# galaxies' latents by first-level class.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
for ax, name in zip(axes, ["latent_search.png", "tsne.png"], strict=True):
    ax.imshow(plt.imread(settings.out / name))
    ax.set_axis_off()
fig.tight_layout()
print("report:", results["files"]["markdown"])
