"""
More like this one: similarity search in latent space
=====================================================

After classification, the most common use of a galaxy representation is
"find me more galaxies like this one". :func:`skgalvae.inspection.similar_galaxies`
answers it over the latents of any encoder (a thin layer over scikit-learn's
:class:`~sklearn.neighbors.NearestNeighbors` that returns ids and skips
unreadable rows). Here it runs on simulated galaxies, whose true type is
known, so the answers can be checked: the neighbours of a spiral, of an
elliptical and of a cutout with an instrumental defect, and, over every
galaxy, the share of its ten neighbours of its own type, next to PCA's.
The search also runs on :func:`~skgalvae.inspection.invariant_latents`:
summaries of the latents over the flips and quarter turns of each cutout,
which do not depend on how a galaxy lies on the sky.

On a survey encoded to disk, ``skgalvae neighbours latents.parquet ID
--images survey.zarr --key images --grid grid.png`` does the same from the
command line.

Run::

    python examples/plot_similar_galaxies.py            # about 3 min on 2 CPU cores
    python examples/plot_similar_galaxies.py --quick    # seconds, a smoke run
"""

# %%
# Galaxies with a known type
# --------------------------
# Simulated DECaLS cutouts, 3% of them with a defect (a saturated column's
# bleed trail, or masked rows). The type of each: its first-level Galaxy Zoo
# class, or "defect".
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from skgalvae import VAETransformer
from skgalvae._gallery import example_settings
from skgalvae.datasets import make_galaxies
from skgalvae.inspection import invariant_latents, similar_galaxies
from skgalvae.labels import first_level_classes
from skgalvae.plotting import plot_image_grid
from skgalvae.preprocessing import MTFStretch

settings = example_settings("plot_similar_galaxies")
N_SAMPLES, EPOCHS = settings.sizes(
    full=dict(n_samples=1500, epochs=15), quick=dict(n_samples=200, epochs=2)
)
data = make_galaxies(N_SAMPLES, defect_fraction=0.03, random_state=0)
X = MTFStretch().fit_transform(data.images)
kind = first_level_classes(data.labels).to_numpy(dtype=object, copy=True)
kind[(data.params["defect"] != "none").to_numpy()] = "defect"
print(pd.Series(kind).value_counts().to_string())

# %%
# Latent spaces
# -------------
# The VAE's 16 latents, and 16 PCA components of the same stretched pixels
# (the linear reference). ``settings.fit(estimator, X)`` is
# ``estimator.fit(X)``, cached between documentation builds. A galaxy's
# latents change when it is turned, its type does not. Two invariant spaces
# summarise each galaxy's latents over its 8 orientations: their mean, and
# their mean and spread side by side (the spread says how much the galaxy
# changes when turned, which an elongated one does and a round one does
# not). ``standardize=True`` below puts every latent on one scale.
vae = settings.fit(
    VAETransformer(
        16, max_epochs=EPOCHS, batch_size=32, device=settings.device, random_state=0
    ),
    X,
)
mean_and_spread = invariant_latents(vae, X, statistics=("mean", "std"))
spaces = {
    "VAE": (vae.transform(X), False),
    "VAE, mean": (invariant_latents(vae, X), True),
    "VAE, mean+spread": (mean_and_spread, True),
    "PCA": (PCA(16, random_state=0).fit_transform(X.reshape(len(X), -1)), False),
}

# %%
# Three queries
# -------------
# A spiral, a smooth round galaxy and a defect, each followed by its eight
# nearest galaxies by the mean and spread of the VAE's latents; under each
# row's type, how many
# of the eight share it. The spiral's neighbours are mostly spirals and the
# round galaxy's round ones. The defect's are galaxies of its shape, not
# other defects: the latents describe the galaxy under the defect (the
# reconstruction outlier score of the outliers example is the tool for those).
queries = [int(np.flatnonzero(kind == k)[0]) for k in ("spiral", "round", "defect")]
found = similar_galaxies(mean_and_spread, queries, n_neighbors=8, standardize=True)
rows, labels = [], []
for query in queries:
    neighbours = found.loc[found["query"] == query, "row"].to_numpy()
    rows.append(X[[query, *neighbours]])
    same = (kind[neighbours] == kind[query]).sum()
    labels.append(f"{kind[query]}\n{same}/8 alike")
columns = ["query"] + [str(rank) for rank in range(1, 9)]
fig = plot_image_grid(rows, row_labels=labels, column_labels=columns)
fig.savefig(settings.out / "similar_galaxies.png", dpi=80)

# %%
# How often is a neighbour of the same type?
# ------------------------------------------
# Precision@10 per type: for every galaxy of the type, the share of its ten
# nearest galaxies that are of its type too, averaged; the base rate is the
# type's share of the sample. Every space is searched the same way. Each
# galaxy type (not the defects) is found well above its base rate, and the
# VAE's plain latents share it at least as often as PCA's. The mean over the
# orientations helps the types that lie at every angle (spirals, edge-on
# discs, cigars) but blurs round against in-between: turned a quarter, an
# elongated galaxy's latents move the opposite way and their mean looks
# rounder. The mean and spread together keep that, and match or beat the
# plain latents on every type here (spirals excepted, where the mean alone
# does better): what "alike" should mean decides between them.
everyone = np.arange(len(X))
table = {"n": pd.Series(kind).value_counts(), "base rate": None}
for name, (Z, standardize) in spaces.items():
    hits = similar_galaxies(Z, everyone, n_neighbors=10, standardize=standardize)
    alike = kind[hits["row"].to_numpy()] == kind[hits["query"].to_numpy()]
    per_galaxy = pd.Series(alike.reshape(len(X), 10).mean(axis=1))
    table[name] = per_galaxy.groupby(kind).mean()
table["base rate"] = table["n"] / len(X)
print(pd.DataFrame(table).round(3).to_string())
