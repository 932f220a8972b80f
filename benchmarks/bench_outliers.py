"""Outlier detectors against the simulator's truth, and on real galaxies.

On :func:`skgalvae.datasets.make_galaxies` galaxies (bright foreground stars
and instrumental defects injected at known rates), a stretch + VAE pipeline is
fitted once. Two kinds of score rank the galaxies:

- :class:`~skgalvae.LatentOutlierDetector`, the study's n-sigma rule on the
  latents, with the one-pass rule and with the study's iterative clipping;
- :class:`~skgalvae.ReconstructionOutlierDetector` on the same (frozen) VAE,
  with the per-pixel MSE, MAE and 1 - SSIM of the reconstruction.

For each score and threshold it reports how many galaxies are flagged, the
precision (flagged galaxies that have a star or a defect) and the recall of
stars and of defects separately; and, without any threshold, the precision
and recalls of the top-ranked galaxies (as many as there are stars and
defects), with the recall of each kind of defect.

With ``--gz-desi DIR`` it runs both detectors on real Galaxy Zoo DESI cutouts
instead and saves a gallery of the top-ranked galaxies of each score to
``--out``.

Run::

    python benchmarks/bench_outliers.py            # ~9 min on 2 CPUs
    python benchmarks/bench_outliers.py --quick    # ~30 s, a smoke run
    python benchmarks/bench_outliers.py --gz-desi ../shared/data/gz_desi_1500 \\
        --out outliers_gz                          # ~2 min on 2 CPUs
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from skgalvae import (
    LatentOutlierDetector,
    ReconstructionOutlierDetector,
    VAETransformer,
)
from skgalvae.datasets import load_gz_desi, make_galaxies
from skgalvae.preprocessing import MTFStretch

METRICS = ("mse", "mae", "ssim")


def _vae(args):
    return VAETransformer(
        args.n_latent, hidden_dims=(32, 64), max_epochs=args.epochs,
        batch_size=32, device=args.device, random_state=args.seed,
    )  # fmt: skip


def _detectors(encoder, n_sigma):
    """``name -> (fitted detector, the input it scores)`` for every score."""
    frozen = FrozenEstimator(encoder)
    detectors = {
        f"latent {clipping}": LatentOutlierDetector(n_sigma, clipping=clipping)
        for clipping in ("one-pass", "iterative")
    }
    detectors.update(
        {
            f"reconstruction {metric}": ReconstructionOutlierDetector(
                frozen, metric=metric, n_sigma=n_sigma
            )
            for metric in METRICS
        }
    )
    return detectors


def _sigmas(encoder, images, Z):
    """Each score's sigma for every galaxy (thresholds only cut these)."""
    out = {}
    for name, detector in _detectors(encoder, 8.0).items():
        X = Z if name.startswith("latent") else images
        out[name] = (detector, detector.fit(X).sigma(X), X)
    return out


def simulator(args):
    data = make_galaxies(
        args.n_galaxies,
        star_fraction=args.star_fraction,
        defect_fraction=args.defect_fraction,
        random_state=args.seed,
    )
    star = data.params["star"].to_numpy(bool)
    kinds = data.params["defect"].to_numpy().astype(str)
    defect = kinds != "none"
    truth = star | defect
    start = time.perf_counter()
    encoder = make_pipeline(MTFStretch(), _vae(args)).fit(data.images)
    Z = encoder.transform(data.images)
    fit_s = time.perf_counter() - start
    print(
        f"{args.n_galaxies} galaxies: {star.sum()} with a star, {defect.sum()} "
        f"with a defect ({', '.join(sorted(set(kinds[defect])))}); VAE "
        f"({args.n_latent} latents) fit in {fit_s:.0f} s"
    )
    results = {"args": vars(args) | {"json": str(args.json)}, "scores": {}}
    print("| score | n_sigma | flagged | precision | star recall | defect recall |")
    print("|---|---|---|---|---|---|")
    for name, (detector, _, X) in _sigmas(encoder, data.images, Z).items():
        rows = []
        for n_sigma in (float(s) for s in args.sigmas.split(",")):
            out = detector.set_params(n_sigma=n_sigma).fit(X).predict(X) == -1
            row = {
                "n_sigma": n_sigma,
                "flagged": int(out.sum()),
                "precision": float(truth[out].mean()) if out.any() else None,
                "star_recall": float(out[star].mean()),
                "defect_recall": float(out[defect].mean()) if defect.any() else None,
            }
            rows.append(row)
            cells = [
                "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)
                for v in row.values()
            ]
            print(f"| {name} | " + " | ".join(cells) + " |")
        top = np.argsort(detector.score_samples(X))[: truth.sum()]
        in_top = np.zeros(len(truth), bool)
        in_top[top] = True
        results["scores"][name] = {
            "thresholds": rows,
            "top_ranked_precision": float(truth[top].mean()),
            "top_ranked_star_recall": float(in_top[star].mean()),
            "top_ranked_defect_recall": float(in_top[defect].mean()),
            "top_ranked_recall_by_defect": {
                kind: float(in_top[kinds == kind].mean())
                for kind in sorted(set(kinds[defect]))
            },
        }
    print(f"\ntop {truth.sum()} by each score (base rate {truth.mean():.3f}):")
    print("| score | precision | star recall | defect recall | by defect |")
    print("|---|---|---|---|---|")
    for name, r in results["scores"].items():
        by_kind = ", ".join(
            f"{k} {v:.2f}" for k, v in r["top_ranked_recall_by_defect"].items()
        )
        print(
            f"| {name} | {r['top_ranked_precision']:.3f} | "
            f"{r['top_ranked_star_recall']:.3f} | "
            f"{r['top_ranked_defect_recall']:.3f} | {by_kind} |"
        )
    return results


def real(args):
    import matplotlib

    matplotlib.use("Agg")
    from skgalvae.plotting import plot_image_grid

    data = load_gz_desi(args.gz_desi, image_size=64)
    images = data.images
    classes = data.labels["gz1_class"].astype(str).to_numpy()
    ids = data.params["dr8_id"].to_numpy()
    start = time.perf_counter()
    encoder = make_pipeline(_vae(args)).fit(images)
    Z = encoder.transform(images)
    print(f"{len(images)} cutouts; VAE fit in {time.perf_counter() - start:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"args": vars(args) | {"out": str(args.out)}, "scores": {}}
    n_show = 16
    for name, (_, sigma, _) in _sigmas(encoder, images, Z).items():
        threshold = 8.0 if name.startswith("latent") else 4.0
        order = np.argsort(-sigma)[:n_show]
        flagged = int((sigma > threshold).sum())
        results["scores"][name] = {
            "n_sigma": threshold,
            "flagged": flagged,
            "top": [
                {"dr8_id": str(ids[i]), "class": classes[i], "sigma": float(sigma[i])}
                for i in order
            ],
        }
        print(
            f"{name}: {flagged} beyond {threshold:g} sigma; top {n_show}: "
            + ", ".join(f"{classes[i]} {sigma[i]:.1f}" for i in order)
        )
        # The cutouts are already colour composites: shown as they are.
        fig = plot_image_grid(
            [images[order[:8]], images[order[8:]]],
            row_labels=[f"{name}\n#1-8", "#9-16"],
            column_labels=None,
            per_image=False,
            stretch=255,
            Q=1e-6,
        )
        fig.savefig(
            args.out / f"outliers_{name.replace(' ', '_')}.png",
            dpi=80,
            bbox_inches="tight",
        )
    (args.out / "outliers.json").write_text(json.dumps(results, indent=2, default=str))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description="Outlier detectors vs truth.")
    parser.add_argument("--n-galaxies", type=int, default=3000)
    parser.add_argument("--n-latent", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--star-fraction", type=float, default=0.05)
    parser.add_argument("--defect-fraction", type=float, default=0.02)
    parser.add_argument("--sigmas", default="8,6,5,4,3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gz-desi", type=Path, help="real cutouts instead")
    parser.add_argument("--out", type=Path, default=Path("outliers_gz"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_galaxies, args.epochs = 400, 3
    print(f"machine: {os.cpu_count()} CPUs; device={args.device}")
    results = real(args) if args.gz_desi else simulator(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
