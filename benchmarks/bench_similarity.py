"""Similarity search on real galaxies: precision@k per class, VAE latents vs PCA.

On the Galaxy Zoo DESI subset in ``../shared/data/gz_desi_1500`` (or
``--data``) at 64x64: the default :class:`~skgalvae.VAETransformer` is fitted
on all 1,500 cutouts (no labels), and PCA with as many components on the
same pixels scaled to [0, 1] is the linear reference. For every galaxy of a
Galaxy Zoo 1 class (spiral, elliptical, uncertain), its ``k`` nearest
neighbours (:func:`skgalvae.inspection.similar_galaxies`, itself excluded)
are looked up in each space; precision@k is the share of them in the same
class, averaged over the class. The base rate is the class's share of the
other galaxies.

Each space is searched four ways, from the same fitted models: the plain
latents; ``invariant``, the latents averaged over the 8 flips and quarter
turns of each image (:func:`~skgalvae.inspection.invariant_latents`; for
PCA the same average of its projections); ``invariant+std``, those
standardised (``standardize=True``); and ``mean+spread+std``, the mean and
the spread over the 8 views side by side, standardised. Both metrics
(euclidean, cosine) are reported. Prints one table and writes it as JSON
with ``--json``.

Run::

    python benchmarks/bench_similarity.py                 # ~8 min on 2 CPUs
    python benchmarks/bench_similarity.py --epochs 5      # a quick look
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skgalvae import VAETransformer
from skgalvae.datasets import load_gz_desi
from skgalvae.inspection import invariant_latents, similar_galaxies

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz_desi_1500"
METRICS = ("euclidean", "cosine")


def precision_at_k(latents, classes, k, metric="euclidean", standardize=False):
    """Mean share of same-class galaxies among each galaxy's k neighbours."""
    found = similar_galaxies(
        latents,
        np.arange(len(classes)),
        n_neighbors=k,
        metric=metric,
        standardize=standardize,
    )
    same = classes[found["row"].to_numpy()] == classes[found["query"].to_numpy()]
    per_galaxy = same.reshape(len(classes), k).mean(axis=1)
    return {c: float(per_galaxy[classes == c].mean()) for c in np.unique(classes)}


def _flatten(images):
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-latent", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="write the table here")
    args = parser.parse_args(argv)

    data = load_gz_desi(args.data, image_size=args.size)
    classes = data.labels["gz1_class"].to_numpy()
    start = time.perf_counter()
    vae = VAETransformer(
        n_latent=args.n_latent,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        random_state=args.seed,
    ).fit(data.images)
    fit_s = time.perf_counter() - start
    # PCA as a transformer of images, so both go through invariant_latents.
    pca = make_pipeline(
        FunctionTransformer(_flatten),
        PCA(args.n_latent, random_state=args.seed),
    ).fit(data.images)
    models = {"vae": vae, "pca": pca}
    spaces = {}
    for name, model in models.items():
        spaces[name] = (model.transform(data.images), False)
        invariant = invariant_latents(model, data.images)
        spaces[f"{name} invariant"] = (invariant, False)
        spaces[f"{name} invariant+std"] = (invariant, True)
        both = invariant_latents(model, data.images, statistics=("mean", "std"))
        spaces[f"{name} mean+spread+std"] = (both, True)
    n = len(classes)
    results = []
    for metric in METRICS:
        for space, (Z, standardize) in spaces.items():
            scores = precision_at_k(Z, classes, args.k, metric, standardize)
            for c, value in scores.items():
                members = int((classes == c).sum())
                results.append({
                    "metric": metric, "space": space, "class": c, "n": members,
                    "base rate": (members - 1) / (n - 1), "precision": value,
                })  # fmt: skip
    print(
        f"precision@{args.k} on {args.data} at {args.size}x{args.size}, "
        f"n_latent={args.n_latent}, {args.epochs} epochs, seed {args.seed} "
        f"(VAE fit {fit_s:.0f} s)"
    )
    class_names = list(np.unique(classes))
    print(f"{'metric':>9} {'space':>20} " + " ".join(f"{c:>10}" for c in class_names))
    for metric in METRICS:
        for space in spaces:
            values = {
                r["class"]: r["precision"]
                for r in results
                if r["metric"] == metric and r["space"] == space
            }
            print(
                f"{metric:>9} {space:>20} "
                + " ".join(f"{values[c]:>10.3f}" for c in class_names)
            )
    base = {r["class"]: r["base rate"] for r in results}
    print(
        f"{'':>9} {'base rate':>20} "
        + " ".join(f"{base[c]:>10.3f}" for c in class_names)
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"settings": vars(args), "fit_s": fit_s, "rows": results})
        )
    return results


if __name__ == "__main__":
    main()
