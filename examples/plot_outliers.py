"""
Finding defects and stars: latent and reconstruction outliers
=============================================================

The study flags galaxies beyond 8 standard deviations in some latent (Sec. 6):
mostly image defects and bright foreground stars. The simulator injects both
at known rates, so the two outlier scores of skgalvae can be checked:

- :class:`~skgalvae.LatentOutlierDetector`: where a galaxy lands in latent
  space, after a stretch + VAE pipeline;
- :class:`~skgalvae.ReconstructionOutlierDetector`: how badly the same VAE
  (passed frozen) reconstructs it.

The example prints, for each score, the precision of its top-ranked galaxies
(as many as there are stars and defects) and draws them, marking the true
stars (*) and defects (!).

Run::

    python examples/plot_outliers.py            # about 2 min on 2 CPUs
    python examples/plot_outliers.py --quick    # seconds, a smoke run
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from skgalvae import (
    LatentOutlierDetector,
    ReconstructionOutlierDetector,
    VAETransformer,
)
from skgalvae.datasets import make_galaxies
from skgalvae.plotting import plot_image_grid
from skgalvae.preprocessing import MTFStretch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Finding defects and stars: latent and reconstruction outliers"
    )
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", default="example_output", help="output directory")
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs = 200, 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = make_galaxies(
        args.n_samples, star_fraction=0.05, defect_fraction=0.03, random_state=0
    )
    star = data.params["star"].to_numpy(bool)
    defect = (data.params["defect"] != "none").to_numpy()
    truth = star | defect

    encoder = make_pipeline(
        MTFStretch(),
        VAETransformer(8, max_epochs=args.epochs,
                       batch_size=32, random_state=0),
    ).fit(data.images)  # fmt: skip
    latent = make_pipeline(FrozenEstimator(encoder), LatentOutlierDetector(n_sigma=8))
    reconstruction = ReconstructionOutlierDetector(FrozenEstimator(encoder))
    scores = {}
    for name, detector in (("latent", latent), ("reconstruction", reconstruction)):
        flagged = detector.fit_predict(data.images) == -1
        scores[name] = detector.score_samples(data.images)
        top = np.argsort(scores[name])[: truth.sum()]
        print(
            f"{name}: {flagged.sum()} flagged, {truth[flagged].sum()} of them stars "
            f"or defects; top {truth.sum()}: precision "
            f"{truth[top].mean():.2f} (base rate {truth.mean():.2f}), "
            f"stars {np.isin(np.flatnonzero(star), top).mean():.2f}, defects "
            f"{np.isin(np.flatnonzero(defect), top).mean():.2f}"
        )

    import matplotlib

    matplotlib.use("Agg")

    rows, labels = [], []
    for name, score in scores.items():
        top = np.argsort(score)[:8]
        rows.append(data.images[top])
        labels.append(f"{name}\n" + " ".join(
            "*" if star[i] else "!" if defect[i] else "." for i in top))  # fmt: skip
    fig = plot_image_grid(rows, row_labels=labels)
    fig.savefig(out / "outliers.png", dpi=80, bbox_inches="tight")
    print(f"saved {out / 'outliers.png'} (* star, ! defect, . neither)")


if __name__ == "__main__":
    main()
