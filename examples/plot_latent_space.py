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
   :func:`skgalvae.plotting.plot_interpolation`;
4. :func:`skgalvae.plotting.plot_latent_map` places the galaxies' thumbnails
   on a t-SNE map of their latents.

Run::

    python examples/plot_latent_space.py            # about 3 min on 2 CPU cores
    python examples/plot_latent_space.py --quick    # seconds, a smoke run
"""

# %%
# A VAE on simulated galaxies
# ---------------------------
# The simulator returns each galaxy's true parameters next to its image; the
# VAE sees only the stretched images. ``settings.fit(estimator, X)`` is
# ``estimator.fit(X)``, cached between documentation builds.
import matplotlib.pyplot as plt
import numpy as np

from skgalvae import VAETransformer
from skgalvae._gallery import example_settings
from skgalvae.datasets import make_galaxies
from skgalvae.inspection import (
    interpolate_galaxies,
    latent_correlations,
    latent_traversals,
)
from skgalvae.plotting import plot_interpolation, plot_latent_map, plot_traversals
from skgalvae.preprocessing import MTFStretch

PROPERTIES = [
    "bulge_fraction",
    "r_eff",
    "inclination_deg",
    "axis_ratio",
    "mag_r",
    "star",
]

settings = example_settings("plot_latent_space")
N_SAMPLES, EPOCHS = settings.sizes(
    full=dict(n_samples=1500, epochs=15), quick=dict(n_samples=200, epochs=2)
)
data = make_galaxies(N_SAMPLES, random_state=0)
X = MTFStretch().fit_transform(data.images)
vae = settings.fit(
    VAETransformer(
        n_latent=8,
        max_epochs=EPOCHS,
        batch_size=32,
        device=settings.device,
        random_state=0,
    ),
    X,
)
Z = vae.transform(X)

# %%
# Which latent tracks which property?
# -----------------------------------
# Discs have an inclination, ellipticals none (NaN): ``nan_policy="omit"``
# uses the rows that do. The table is sorted strongest first.
table = latent_correlations(Z, data.params[PROPERTIES], nan_policy="omit")
print("strongest latent-property correlations (Spearman):")
print(table.head(8).to_string(index=False, float_format="{:.3g}".format))
for _, row in table.drop_duplicates("property").iterrows():
    print(
        f"{row['property']}: best tracked by {row['latent']} "
        f"(rho = {row['spearman_rho']:+.2f}, p = {row['spearman_p']:.1g})"
    )

# %%
# The same correlations as a map: a property tracked by one latent is one
# dark cell in its row; a property spread over several latents is a row of
# pale ones.
grid = table.pivot(index="property", columns="latent", values="spearman_rho")
fig, ax = plt.subplots(figsize=(6, 3))
image = ax.imshow(grid.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
ax.set_xticks(range(grid.shape[1]), grid.columns)
ax.set_yticks(range(grid.shape[0]), grid.index)
fig.colorbar(image, ax=ax, label="Spearman rho")
fig.tight_layout()
fig.savefig(settings.out / "latent_correlations.png", dpi=100)

# %%
# Traversals
# ----------
# Each row decodes the median galaxy with one latent moved from -3 to +3
# standard deviations, the others held: the four latents the encoder uses
# most, in order of their spread.
walk = latent_traversals(vae, Z, n_dims=4, n_steps=7)
plot_traversals(walk).savefig(settings.out / "latent_traversals.png", dpi=80)
print(f"traversed latents {walk.dims.tolist()}")

# %%
# From an edge-on disc to a round elliptical
# ------------------------------------------
# The most inclined disc and the roundest elliptical, and the galaxies decoded
# along the straight line between their latents.
params = data.params
edge_on = int(
    np.argmax(
        np.where(params["morphology"] == "featured", params["inclination_deg"], -1)
    )
)
round_ = int(
    np.argmax(np.where(params["morphology"] == "smooth", params["axis_ratio"], -1))
)
path = interpolate_galaxies(vae, X[edge_on], X[round_], n_steps=8)
plot_interpolation(path).savefig(settings.out / "latent_interpolation.png", dpi=80)
print(f"interpolated galaxies {edge_on} -> {round_}; figures in {settings.out}")

# %%
# The latent space as a map of galaxies
# -------------------------------------
# t-SNE puts galaxies with near latents near each other; one galaxy is drawn
# per cell of a grid over the map, framed by its morphology. Discs seen
# edge-on, face-on spirals and round ellipticals should gather in regions of
# their own.
latent_map = plot_latent_map(X, Z, labels=data.params["morphology"], n_thumbnails=144)
latent_map.savefig(settings.out / "latent_map.png", dpi=80)
