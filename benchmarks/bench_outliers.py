"""Latent outliers against the simulator's truth: precision and recall.

On :func:`skgalvae.datasets.make_galaxies` galaxies (bright foreground stars
and instrumental defects injected at known rates), a stretch + VAE pipeline is
fitted, and :class:`~skgalvae.LatentOutlierDetector` flags galaxies beyond
``n_sigma`` in some latent, with the one-pass rule and with the study's
iterative clipping. For each threshold it reports how many are flagged, the
precision (flagged galaxies that have a star or a defect) and the recall of
stars and of defects separately; and, without any threshold, the precision of
the top-ranked galaxies (as many as there are stars and defects).

Run::

    python benchmarks/bench_outliers.py            # ~4 min on 2 CPUs
    python benchmarks/bench_outliers.py --quick    # ~30 s, a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline

from skgalvae import LatentOutlierDetector, VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.preprocessing import MTFStretch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-galaxies", type=int, default=3000)
    parser.add_argument("--n-latent", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--star-fraction", type=float, default=0.05)
    parser.add_argument("--defect-fraction", type=float, default=0.02)
    parser.add_argument("--sigmas", default="8,6,4,3")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_galaxies, args.epochs = 400, 3
    print(f"machine: {os.cpu_count()} CPUs; device={args.device}")

    data = make_galaxies(
        args.n_galaxies,
        star_fraction=args.star_fraction,
        defect_fraction=args.defect_fraction,
        random_state=args.seed,
    )
    star = data.params["star"].to_numpy(bool)
    defect = (data.params["defect"] != "none").to_numpy()
    flagged_truth = star | defect
    start = time.perf_counter()
    encoder = make_pipeline(
        MTFStretch(),
        VAETransformer(
            args.n_latent, hidden_dims=(32, 64), max_epochs=args.epochs,
            batch_size=32, device=args.device, random_state=args.seed,
        ),
    ).fit(data.images)  # fmt: skip
    Z = encoder.transform(data.images)
    fit_s = time.perf_counter() - start
    print(
        f"{args.n_galaxies} galaxies: {star.sum()} with a star, {defect.sum()} "
        f"with a defect; VAE ({args.n_latent} latents) fit in {fit_s:.0f} s"
    )

    results = {"args": vars(args) | {"json": str(args.json)}, "rules": {}}
    print("| rule | n_sigma | flagged | precision | star recall | defect recall |")
    print("|---|---|---|---|---|---|")
    for clipping in ("one-pass", "iterative"):
        rows = []
        for n_sigma in (float(s) for s in args.sigmas.split(",")):
            detector = LatentOutlierDetector(n_sigma, clipping=clipping).fit(Z)
            out = detector.predict(Z) == -1
            row = {
                "n_sigma": n_sigma,
                "flagged": int(out.sum()),
                "precision": float(flagged_truth[out].mean()) if out.any() else None,
                "star_recall": float(out[star].mean()),
                "defect_recall": float(out[defect].mean()) if defect.any() else None,
            }
            rows.append(row)
            cells = [
                "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)
                for v in row.values()
            ]
            print(f"| {clipping} | " + " | ".join(cells) + " |")
        ranking = LatentOutlierDetector(clipping=clipping).fit(Z).sigma(Z)
        top = np.argsort(ranking)[::-1][: flagged_truth.sum()]
        results["rules"][clipping] = {
            "thresholds": rows,
            "top_ranked_precision": float(flagged_truth[top].mean()),
            "top_ranked_star_recall": float(np.isin(np.flatnonzero(star), top).mean()),
            "top_ranked_defect_recall": float(
                np.isin(np.flatnonzero(defect), top).mean()
            ),
        }
    base = flagged_truth.mean()
    for clipping, r in results["rules"].items():
        print(
            f"{clipping}: top {flagged_truth.sum()} by sigma: precision "
            f"{r['top_ranked_precision']:.3f} (base rate {base:.3f}), star recall "
            f"{r['top_ranked_star_recall']:.3f}, defect recall "
            f"{r['top_ranked_defect_recall']:.3f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
