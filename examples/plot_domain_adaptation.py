"""
Domain adaptation: one latent space for DECaLS and BASS+MzLS
============================================================

The study's Sec. 5 on the built-in simulator. The same galaxies are imaged by
DECaLS and by BASS+MzLS (:func:`skgalvae.datasets.make_survey_pairs`). Then:

1. a :class:`~skgalvae.VAETransformer` is trained on DECaLS;
2. a :class:`~skgalvae.DomainAdaptedVAETransformer` fine-tunes it on both
   surveys, with ``init=FrozenEstimator(vae)``, one decoder per survey and an
   MMD term between the surveys' latents.

The example prints the per-galaxy paired latent MSE
(:func:`skgalvae.metrics.paired_latent_mse`) and the latent MMD^2 before and
after, and a permutation test of the latent shift. It draws:

- the MSE histograms;
- the galaxies the encoder sees most differently in the two surveys, and
  their reconstructions by each survey's decoder.

Run::

    python examples/plot_domain_adaptation.py            # about 4 min on 2 CPUs
    python examples/plot_domain_adaptation.py --quick    # seconds, a smoke run
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator

from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae.datasets import make_survey_pairs
from skgalvae.metrics import mmd2_permutation_test, paired_latent_mse
from skgalvae.plotting import plot_image_grid
from skgalvae.preprocessing import MTFStretch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Domain adaptation: one latent space for DECaLS and BASS+MzLS"
    )
    parser.add_argument("--n-samples", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=20, help="VAE epochs")
    parser.add_argument("--da-epochs", type=int, default=10)
    parser.add_argument(
        "--mmd-weight", type=float, default=1.0, help="scale-free MMD weight"
    )
    parser.add_argument("--out", default="example_output", help="output directory")
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.da_epochs = 160, 2, 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    decals, bass = make_survey_pairs(args.n_samples, random_state=0)
    # Raw nanomaggies span five decades (bright stars): stretch each image.
    X, X_target = (MTFStretch().fit_transform(s.images) for s in (decals, bass))
    star = decals.params["star"].to_numpy(bool)

    params = dict(n_latent=16, batch_size=32, random_state=0)
    vae = VAETransformer(max_epochs=args.epochs, **params).fit(X)
    da = DomainAdaptedVAETransformer(
        max_epochs=args.da_epochs,
        mmd_weight=args.mmd_weight,
        paired=True,
        init=FrozenEstimator(vae),
        **params,
    ).fit(X, X_target=X_target)

    mse = {name: paired_latent_mse(enc, X, X_target) for name, enc in
           (("before DA", vae), ("after DA", da))}  # fmt: skip
    for name, enc in (("before DA", vae), ("after DA", da)):
        statistic, p_value = mmd2_permutation_test(
            enc.transform(X), enc.transform(X_target), n_permutations=50, random_state=0
        )
        print(
            f"{name}: median paired latent MSE {np.median(mse[name]):.4f} "
            f"(with a star {np.median(mse[name][star]):.4f}), latent MMD^2 "
            f"{statistic:.4f}, permutation p = {p_value:.2f}"
        )
    last = da.history_[-1]
    print(
        f"last DA epoch: reconstruction {last['train_reconstruction']:.1f} (DECaLS), "
        f"{last['train_reconstruction_target']:.1f} (BASS+MzLS), "
        f"MMD^2 {last['train_mmd']:.4f}"
    )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    bins = np.logspace(np.log10(min(m.min() for m in mse.values()) + 1e-8),
                       np.log10(max(m.max() for m in mse.values())), 40)  # fmt: skip
    for name, values in mse.items():
        ax.hist(values, bins=bins, histtype="step", label=name)
    ax.set(xscale="log", xlabel="paired latent MSE per galaxy", ylabel="galaxies")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "domain_adaptation_mse.png", dpi=100)
    print(f"saved {out / 'domain_adaptation_mse.png'}")

    worst = np.argsort(mse["before DA"])[::-1][:6]
    Z = da.transform(X_target[worst])
    rows = [
        X[worst],
        X_target[worst],
        da.inverse_transform(Z, domain="source"),
        da.inverse_transform(Z, domain="target"),
    ]
    labels = ["DECaLS", "BASS+MzLS", "BASS latents,\nDECaLS decoder",
              "BASS latents,\nBASS decoder"]  # fmt: skip
    columns = [f"MSE {mse['before DA'][i]:.3f}" + (" *" if star[i] else "")
               for i in worst]  # fmt: skip
    fig = plot_image_grid(rows, row_labels=labels, column_labels=columns)
    fig.savefig(out / "domain_adaptation_pairs.png", dpi=80, bbox_inches="tight")
    print(f"saved {out / 'domain_adaptation_pairs.png'} (* : a star in the cutout)")


if __name__ == "__main__":
    main()
