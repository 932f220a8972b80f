"""Similarity search on real galaxies: precision@k per class, VAE latents vs PCA.

On the Galaxy Zoo DESI subset in ``../shared/data/gz_desi_1500`` (or
``--data``) at 64x64: the default :class:`~skgalvae.VAETransformer` is fitted
on all 1,500 cutouts (no labels), and PCA with as many components on the
same pixels scaled to [0, 1] is the linear reference. For every galaxy of a
Galaxy Zoo 1 class (spiral, elliptical, uncertain), its ``k`` nearest
neighbours (:func:`skgalvae.inspection.similar_galaxies`, itself excluded)
are looked up in each space; precision@k is the share of them in the same
class, averaged over the class. The base rate is the class's share of the
other galaxies. Prints one table and writes it as JSON with ``--json``.

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

from skgalvae import VAETransformer
from skgalvae.datasets import load_gz_desi
from skgalvae.inspection import similar_galaxies

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz_desi_1500"


def precision_at_k(latents, classes, k, metric="euclidean"):
    """Mean share of same-class galaxies among each galaxy's k neighbours."""
    found = similar_galaxies(
        latents, np.arange(len(classes)), n_neighbors=k, metric=metric
    )
    same = classes[found["row"].to_numpy()] == classes[found["query"].to_numpy()]
    per_galaxy = same.reshape(len(classes), k).mean(axis=1)
    return {c: float(per_galaxy[classes == c].mean()) for c in np.unique(classes)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-latent", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--metric", default="euclidean", help="e.g. cosine")
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
    pixels = data.images.reshape(len(data.images), -1).astype(np.float32) / 255.0
    spaces = {
        "vae": vae.transform(data.images),
        "pca": PCA(args.n_latent, random_state=args.seed).fit_transform(pixels),
    }
    scores = {
        name: precision_at_k(Z, classes, args.k, args.metric)
        for name, Z in spaces.items()
    }
    n = len(classes)
    rows = []
    for c in np.unique(classes):
        members = int((classes == c).sum())
        rows.append(
            {
                "class": c,
                "n": members,
                "base rate": (members - 1) / (n - 1),
                "vae": scores["vae"][c],
                "pca": scores["pca"][c],
            }
        )
    print(
        f"precision@{args.k} on {args.data} at {args.size}x{args.size}, "
        f"n_latent={args.n_latent}, {args.epochs} epochs, {args.metric} "
        f"(VAE fit {fit_s:.0f} s)"
    )
    print(f"{'class':>10} {'n':>5} {'base rate':>9} {'VAE':>6} {'PCA':>6}")
    for r in rows:
        print(
            f"{r['class']:>10} {r['n']:>5} {r['base rate']:>9.3f} "
            f"{r['vae']:>6.3f} {r['pca']:>6.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "rows": rows}))
    return rows


if __name__ == "__main__":
    main()
