"""GMMVAETransformer clusters vs k-means and a GMM on plain VAE latents.

The quality bar of the Gaussian-mixture-prior VAE (VaDE): its clusters should
agree with true morphology better than clusterings fitted afterwards on a
plain VAE's latents. On the same galaxies, this fits

1. a plain :class:`~skgalvae.VAETransformer` for ``--pretrain-epochs``;
2. k-means and a diagonal Gaussian mixture on its latent means;
3. :class:`~skgalvae.GMMVAETransformer` started from that VAE
   (``init=FrozenEstimator(vae)``) and trained ``--epochs`` more;
4. the same plain VAE trained ``--pretrain-epochs + --epochs`` in all, with
   k-means and a GMM on its latents: the equal-training-budget baseline;

and reports the adjusted Rand index (and normalised mutual information) of
every clustering against the truth. ``--model`` picks the network and loss,
the same for every VAE of the run: ``default`` (the estimators' defaults:
the resize-conv ResNet, the Gaussian likelihood, a cosine learning rate and
dihedral augmentation), ``pose-free`` (the same with
``invariance="dihedral"``) or ``xu2023`` (the study's network, summed squared
error, constant rate, no augmentation); ``--hidden-dims`` narrows the
network for a faster run. On the simulator the truth is the
first-level Galaxy Zoo class of each galaxy's votes (six classes) and the
generator's smooth/featured morphology; with ``--gz-desi`` it is Galaxy
Zoo 1's spiral / elliptical / uncertain, with a cross-table of the clusters.

Run::

    python benchmarks/bench_gmm_vae.py              # ~25 min on 2 CPUs
    python benchmarks/bench_gmm_vae.py --quick      # ~1 min smoke run
    python benchmarks/bench_gmm_vae.py --gz-desi path/to/gz_desi_1500
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

from skgalvae import GMMVAETransformer, VAETransformer
from skgalvae.datasets import load_gz_desi, make_galaxies
from skgalvae.labels import first_level_classes
from skgalvae.preprocessing import MTFStretch

#: Network and loss of every VAE of a run, by name (VAETransformer parameters).
MODELS = {
    "default": {},
    "pose-free": {"invariance": "dihedral"},
    "xu2023": {
        "architecture": "xu2023",
        "likelihood": "sse",
        "lr_schedule": "constant",
        "augment": None,
    },
}


def _data(args):
    if args.gz_desi:
        data = load_gz_desi(args.gz_desi, image_size=64)
        truth = {"gz1_class": data.labels["gz1_class"].astype(str).to_numpy()}
        return data.images, truth
    data = make_galaxies(args.n_galaxies, random_state=args.seed)
    truth = {
        "first_level_class": first_level_classes(data.labels).to_numpy(),
        "morphology": data.params["morphology"].to_numpy(),
    }
    return MTFStretch().fit_transform(data.images), truth


def _scores(labels, truth):
    return {
        name: {
            "ari": float(adjusted_rand_score(classes, labels)),
            "nmi": float(normalized_mutual_info_score(classes, labels)),
        }
        for name, classes in truth.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="GMM-VAE vs k-means and GMM.")
    parser.add_argument("--model", choices=MODELS, default="default")
    parser.add_argument("--hidden-dims", type=int, nargs="+", default=None,
                        help="encoder widths (default: auto)")  # fmt: skip
    parser.add_argument("--n-galaxies", type=int, default=3000)
    parser.add_argument("--n-latent", type=int, default=8)
    parser.add_argument("--n-components", type=int, default=None,
                        help="default: the number of true classes")  # fmt: skip
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--kl-warmup", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gz-desi", type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_galaxies, args.pretrain_epochs, args.epochs = 400, 2, 2
    print(f"machine: {os.cpu_count()} CPUs; device={args.device}")

    X, truth = _data(args)
    reference = next(iter(truth.values()))
    k = args.n_components or len(set(reference))
    described = "; ".join(f"{n} ({len(set(c))} classes)" for n, c in truth.items())
    print(f"{len(X)} galaxies, {k} clusters; truth: {described}")
    network = dict(
        MODELS[args.model],
        hidden_dims=tuple(args.hidden_dims) if args.hidden_dims else "auto",
        batch_size=32,
        device=args.device,
        random_state=args.seed,
    )
    vae = VAETransformer(args.n_latent, max_epochs=args.pretrain_epochs, **network)
    timings, labels = {}, {}
    start = time.perf_counter()
    vae.fit(X)
    timings["vae"] = time.perf_counter() - start
    Z = vae.transform(X)
    labels["k-means on VAE latents"] = KMeans(
        k, n_init=10, random_state=args.seed
    ).fit_predict(Z)
    labels["GMM on VAE latents"] = GaussianMixture(
        k, covariance_type="diag", n_init=3, random_state=args.seed
    ).fit_predict(Z)  # fmt: skip

    start = time.perf_counter()
    gmmvae = GMMVAETransformer(
        args.n_latent, n_components=k, max_epochs=args.epochs,
        kl_warmup=args.kl_warmup, init=FrozenEstimator(vae), **network,
    ).fit(X)  # fmt: skip
    timings["gmm_vae"] = time.perf_counter() - start
    labels["GMM-VAE (VaDE)"] = gmmvae.labels_

    start = time.perf_counter()
    longer = clone(vae).set_params(max_epochs=args.pretrain_epochs + args.epochs)
    Z_long = longer.fit(X).transform(X)
    timings["vae_equal_budget"] = time.perf_counter() - start
    labels["k-means, VAE of equal epochs"] = KMeans(
        k, n_init=10, random_state=args.seed
    ).fit_predict(Z_long)  # fmt: skip
    labels["GMM, VAE of equal epochs"] = GaussianMixture(
        k, covariance_type="diag", n_init=3, random_state=args.seed
    ).fit_predict(Z_long)  # fmt: skip

    results = {
        "args": {k_: str(v) for k_, v in vars(args).items()},
        "n_components": k,
        "timings_s": timings,
        "ssim": {
            "vae": vae.score(X),
            "gmm_vae": gmmvae.score(X),
            "vae_equal_budget": longer.score(X),
        },  # fmt: skip
        "clusterings": {name: _scores(lab, truth) for name, lab in labels.items()},
    }
    names = list(truth)
    print("| clustering | " + " | ".join(f"ARI {n} | NMI {n}" for n in names) + " |")
    print("|---|" + "---|---|" * len(names))
    for name, scores in results["clusterings"].items():
        cells = " | ".join(
            f"{scores[n]['ari']:.3f} | {scores[n]['nmi']:.3f}" for n in names
        )
        print(f"| {name} | {cells} |")
    print("reconstruction SSIM: " + ", ".join(
        f"{n} {v:.3f}" for n, v in results["ssim"].items()))  # fmt: skip
    print("fit seconds: " + ", ".join(f"{n} {v:.0f}" for n, v in timings.items()))
    table = pd.crosstab(
        pd.Series(gmmvae.labels_, name="GMM-VAE cluster"),
        pd.Series(reference, name=names[0]),
    )
    print(table.to_string())
    results["crosstab"] = table.to_dict()
    print("mixture weights: " + np.array2string(gmmvae.weights_, precision=3))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
