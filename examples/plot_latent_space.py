"""
What the latents encode: correlations, traversals and interpolations
====================================================================

The simulator knows each galaxy's true physical parameters, so it can tell
which latents track which property. A :class:`~skgalvae.VAETransformer` is
trained on stretched simulated galaxies; then

1. :func:`skgalvae.inspection.latent_correlations` tabulates the Pearson and
   Spearman correlations (with p-values) of every latent with the bulge
   fraction, the effective radius, the inclination, the axis ratio, the
   brightness and the presence of a foreground star;
2. :func:`skgalvae.inspection.latent_traversals` decodes the most-used
   latents from -3 to +3 standard deviations around the median galaxy, drawn
   by :func:`skgalvae.plotting.plot_traversals`;
3. :func:`skgalvae.inspection.interpolate_galaxies` decodes the path from an
   edge-on disc to a round elliptical, drawn by
   :func:`skgalvae.plotting.plot_interpolation`.

Run::

    python examples/plot_latent_space.py            # about 2 min on 2 CPUs
    python examples/plot_latent_space.py --quick    # seconds, a smoke run
"""

import argparse
from pathlib import Path

import numpy as np

from skgalvae import VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.inspection import (
    interpolate_galaxies,
    latent_correlations,
    latent_traversals,
)
from skgalvae.preprocessing import MTFStretch

PROPERTIES = ["bulge_fraction", "r_eff", "inclination_deg", "axis_ratio",
              "mag_r", "star"]  # fmt: skip


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="What the latents encode: correlations, traversals and "
        "interpolations"
    )
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=15)
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
    vae = VAETransformer(
        n_latent=8, max_epochs=args.epochs, batch_size=32,
        random_state=0,
    ).fit(X)  # fmt: skip
    Z = vae.transform(X)

    # 1. Which latent tracks which property?
    # Discs have an inclination, ellipticals none (NaN): use the rows that do.
    table = latent_correlations(Z, data.params[PROPERTIES], nan_policy="omit")
    print("strongest latent-property correlations (Spearman):")
    print(table.head(8).to_string(index=False, float_format="{:.3g}".format))
    # The table is sorted strongest first: the first row of each property.
    for _, row in table.drop_duplicates("property").iterrows():
        print(
            f"{row['property']}: best tracked by {row['latent']} "
            f"(rho = {row['spearman_rho']:+.2f}, p = {row['spearman_p']:.1g})"
        )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skgalvae.plotting import plot_interpolation, plot_traversals

    grid = table.pivot(index="property", columns="latent", values="spearman_rho")
    fig, ax = plt.subplots(figsize=(6, 3))
    image = ax.imshow(grid.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(grid.shape[1]), grid.columns)
    ax.set_yticks(range(grid.shape[0]), grid.index)
    fig.colorbar(image, ax=ax, label="Spearman rho")
    fig.tight_layout()
    fig.savefig(out / "latent_correlations.png", dpi=100)
    print(f"saved {out / 'latent_correlations.png'}")

    # 2. Traversals through the most-used latents.
    walk = latent_traversals(vae, Z, n_dims=4, n_steps=7)
    plot_traversals(walk).savefig(out / "latent_traversals.png", dpi=80)
    print(f"saved {out / 'latent_traversals.png'} (latents {walk.dims.tolist()})")

    # 3. From an edge-on disc to a round elliptical.
    params = data.params
    edge_on = int(np.argmax(np.where(params["morphology"] == "featured",
                                     params["inclination_deg"], -1)))  # fmt: skip
    round_ = int(np.argmax(np.where(params["morphology"] == "smooth",
                                    params["axis_ratio"], -1)))  # fmt: skip
    path = interpolate_galaxies(vae, X[edge_on], X[round_], n_steps=8)
    plot_interpolation(path).savefig(out / "latent_interpolation.png", dpi=80)
    print(f"saved {out / 'latent_interpolation.png'} (galaxies {edge_on} -> {round_})")


if __name__ == "__main__":
    main()
