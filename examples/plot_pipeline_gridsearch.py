"""
Grid-search the latent dimension of a VAE + random forest pipeline
===================================================================

Fits ``Pipeline([("stretch", MTFStretch()), ("vae", VAETransformer()),
("rf", RandomForestClassifier())])`` on the built-in simulated DECaLS galaxies
(:func:`skgalvae.datasets.make_galaxies`) to tell smooth from featured
galaxies (the first question of the Galaxy Zoo decision tree), grid-searches
``vae__n_latent`` with cross-validation, scores the best pipeline on held-out
galaxies, saves it with joblib, reloads it, and plots reconstructions next to
the originals.

Run::

    python examples/plot_pipeline_gridsearch.py            # under 2 min on 2 CPUs
    python examples/plot_pipeline_gridsearch.py --quick    # seconds; used by tests
"""

import argparse
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skgalvae import VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.preprocessing import MTFStretch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Grid-search the latent dimension of a VAE + random forest pipeline"
    )
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    parser.add_argument("--out", default="example_output", help="output directory")
    parser.add_argument("--device", default="auto")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        n_samples, epochs, latents, cv = 120, 2, [2, 8], 2
    else:
        n_samples, epochs, latents, cv = 600, 10, [2, 8, 16], 3

    data = make_galaxies(n_samples, image_size=64, random_state=0)
    target = data.params["morphology"].to_numpy()  # "smooth" or "featured"
    X_train, X_test, y_train, y_test = train_test_split(
        data.images, target, test_size=0.3, random_state=0, stratify=target
    )

    pipe = Pipeline(
        [
            ("stretch", MTFStretch()),
            (
                "vae",
                VAETransformer(
                    max_epochs=epochs,
                    batch_size=8,  # more steps: a few hundred images per fold
                    device=args.device,
                    random_state=0,
                ),
            ),
            ("rf", RandomForestClassifier(n_estimators=200, random_state=0)),
        ]
    )
    search = GridSearchCV(pipe, {"vae__n_latent": latents}, cv=cv)
    start = time.perf_counter()
    search.fit(X_train, y_train)
    print(
        f"grid search: {len(latents)} x {cv} folds in "
        f"{time.perf_counter() - start:.1f} s"
    )
    print(f"{'n_latent':>8}  {'cv accuracy':>12}")
    results = search.cv_results_
    for n_latent, mean, std in zip(
        results["param_vae__n_latent"],
        results["mean_test_score"],
        results["std_test_score"],
        strict=True,
    ):
        print(f"{n_latent:>8}  {mean:>8.3f} +- {std:.3f}")

    best = search.best_estimator_
    vae = best.named_steps["vae"]
    accuracy = best.score(X_test, y_test)
    stretched = best.named_steps["stretch"].transform(X_test)
    ssim = vae.score(stretched)
    print(
        f"best n_latent = {vae.n_latent}: test accuracy {accuracy:.3f}, "
        f"reconstruction SSIM {ssim:.3f}"
    )

    model_path = out / "pipeline.joblib"
    joblib.dump(best, model_path)
    reloaded = joblib.load(model_path)
    assert np.array_equal(reloaded.predict(X_test), best.predict(X_test))
    print(f"saved and reloaded {model_path}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: skipping the figure")
        return search

    n_show = 6
    originals = stretched[:n_show]
    recon = vae.reconstruct(originals)
    fig, axes = plt.subplots(2, n_show + 1, figsize=(2 * (n_show + 1), 4.2))
    for i in range(n_show):
        for row, images in enumerate((originals, recon)):
            ax = axes[row, i]
            # z, r, g as red, green, blue; clipped for display only.
            ax.imshow(images[i, ::-1].transpose(1, 2, 0).clip(0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, i].set_title(y_test[i])
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstruction")
    gs = axes[0, -1].get_gridspec()
    axes[0, -1].remove()
    axes[1, -1].remove()
    ax = fig.add_subplot(gs[:, -1])
    ax.errorbar(
        results["param_vae__n_latent"].astype(int),
        results["mean_test_score"],
        results["std_test_score"],
        marker="o",
    )
    ax.set_xlabel("n_latent")
    ax.set_ylabel("CV accuracy")
    fig.tight_layout()
    figure_path = out / "pipeline_gridsearch.png"
    fig.savefig(figure_path, dpi=100)
    print(f"wrote {figure_path}")
    return search


if __name__ == "__main__":
    main()
