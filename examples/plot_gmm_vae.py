"""
Unsupervised morphology: a VAE with a Gaussian-mixture prior
============================================================

AstroVaDEr (Spindler et al. 2021) clusters galaxies with VaDE (Jiang et al.
2017), a VAE whose prior is a Gaussian mixture trained with the network.
:class:`~skgalvae.GMMVAETransformer` is that model as a scikit-learn
clusterer and transformer. The example

1. trains a plain :class:`~skgalvae.VAETransformer` on stretched simulated
   galaxies and clusters its latents with k-means, the usual two-step way;
2. starts a :class:`~skgalvae.GMMVAETransformer` from that VAE
   (``init=FrozenEstimator(vae)``), the mixture initialised by a Gaussian
   mixture on its latents, and trains it on the mixture-prior ELBO;
3. compares both clusterings with the galaxies' first-level Galaxy Zoo
   class (adjusted Rand index) and draws synthetic galaxies from each
   component with ``sample(n, component=c)``.

Run::

    python examples/plot_gmm_vae.py            # about 4 min on 2 CPUs
    python examples/plot_gmm_vae.py --quick    # seconds, a smoke run
"""

import argparse
from pathlib import Path

import pandas as pd
from sklearn.cluster import KMeans
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import adjusted_rand_score

from skgalvae import GMMVAETransformer, VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.labels import first_level_classes
from skgalvae.plotting import plot_image_grid
from skgalvae.preprocessing import MTFStretch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Unsupervised morphology: a VAE with a Gaussian-mixture prior"
    )
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10, help="per stage")
    parser.add_argument("--out", default="example_output", help="output directory")
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs = 200, 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = make_galaxies(args.n_samples, random_state=0)
    X = MTFStretch().fit_transform(data.images)
    classes = first_level_classes(data.labels).to_numpy()
    k = len(set(classes))

    # The GMM-VAE's defaults: the study's network, loss and schedule.
    params = dict(
        n_latent=8,
        batch_size=32,
        architecture="xu2023",
        likelihood="sse",
        lr_schedule="constant",
        augment=None,
        random_state=0,
    )
    vae = VAETransformer(max_epochs=args.epochs, **params).fit(X)
    kmeans = KMeans(k, n_init=10, random_state=0).fit_predict(vae.transform(X))

    gmmvae = GMMVAETransformer(
        n_components=k, max_epochs=args.epochs, init=FrozenEstimator(vae), **params
    ).fit(X)
    print(f"{len(X)} galaxies, {k} first-level classes")
    for name, labels in (("k-means on VAE latents", kmeans),
                         ("GMM-VAE clusters", gmmvae.labels_)):  # fmt: skip
        print(f"ARI {name}: {adjusted_rand_score(classes, labels):.3f}")
    print(pd.crosstab(pd.Series(gmmvae.labels_, name="cluster"),
                      pd.Series(classes, name="class")).to_string())  # fmt: skip

    import matplotlib

    matplotlib.use("Agg")

    rows = [gmmvae.sample(6, random_state=c, component=c) for c in range(k)]
    labels = [f"cluster {c}\n({gmmvae.weights_[c]:.0%})" for c in range(k)]
    fig = plot_image_grid(rows, row_labels=labels)
    fig.savefig(out / "gmm_vae_samples.png", dpi=80, bbox_inches="tight")
    print(f"saved {out / 'gmm_vae_samples.png'}")


if __name__ == "__main__":
    main()
