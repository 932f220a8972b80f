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

    python examples/plot_study.py            # the default study, ~15 min on 2 CPUs
    python examples/plot_study.py --quick    # tiny sizes, well under a minute
"""

import argparse

import matplotlib.pyplot as plt

from skgalvae.study import StudyConfig, run_study


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Reproduce Xu et al. (2023) from Python"
    )
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    parser.add_argument("--out", default="example_output/study", help="report dir")
    parser.add_argument("--device", default="auto")
    return parser.parse_args(argv)


args = parse_args()
if args.quick:
    config = StudyConfig.quick(
        n_samples=160, latents=(2, 4, 8), epochs=2, n_pairs=60, da_epochs=1,
        mmd_weights=(1.0,), n_trees=50, min_question_samples=8, tsne_max=60,
        device=args.device,
    )  # fmt: skip
else:
    config = StudyConfig(device=args.device)
results = run_study(config, args.out)

# %%
# The latent dimension: validation SSIM per candidate and the knee.
for search in results["latent_dimension"]["searches"]:
    pairs = zip(search["n_latent"], search["mean_ssim"], strict=True)
    print(search["model"], {n: round(s, 3) for n, s in pairs}, "knee", search["knee"])

# %%
# Classification: test accuracy of a random forest per question, on the VAE
# latents and on PCA components of the same dimension.
for question, entry in results["classification"]["vae"].items():
    if "skipped" in entry:
        print(f"{question:>14}: skipped ({entry['skipped']})")
        continue
    vae = entry["scores"]["test"]["accuracy"]
    pca = results["classification"]["pca"][question]["scores"]["test"]["accuracy"]
    print(f"{question:>14}: VAE {vae:.3f}  PCA {pca:.3f}")

# %%
# The report's figures are PNG files next to ``report.md``; two of them:
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for ax, name in zip(axes, ["latent_search.png", "tsne.png"], strict=True):
    ax.imshow(plt.imread(f"{args.out}/{name}"))
    ax.set_axis_off()
    ax.set_title(name)
fig.tight_layout()
print("report:", results["files"]["markdown"])
