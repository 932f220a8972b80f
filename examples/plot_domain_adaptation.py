"""
Domain adaptation: one latent space for DECaLS and BASS+MzLS
============================================================

The study's Sec. 5 on the built-in simulator. The same galaxies are imaged by
DECaLS and by BASS+MzLS (:func:`skgalvae.datasets.make_survey_pairs`). Then:

1. a :class:`~skgalvae.VAETransformer` is trained on DECaLS;
2. a :class:`~skgalvae.DomainAdaptedVAETransformer` adapts it to BASS+MzLS,
   with ``init=FrozenEstimator(vae)``: DECaLS keeps the VAE unchanged,
   BASS+MzLS gets an encoder and a decoder of its own, pulled toward the
   DECaLS latents by an MMD term within clusters of them.

The example prints the per-galaxy paired latent MSE
(:func:`skgalvae.metrics.paired_latent_mse`) and the latent MMD^2 before and
after, and a permutation test of the latent shift. It draws:

- the MSE histograms;
- the galaxies the encoder sees most differently in the two surveys, and
  their reconstructions by each survey's decoder.

Run::

    python examples/plot_domain_adaptation.py            # about 4 min on 2 CPU cores
    python examples/plot_domain_adaptation.py --quick    # seconds, a smoke run
"""

# %%
# The same galaxies in both surveys
# ---------------------------------
# Raw nanomaggies span five decades (bright stars): each image is stretched.
# ``star`` marks the cutouts with a foreground star, the study's worst cases.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.frozen import FrozenEstimator

from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae._gallery import example_settings
from skgalvae.datasets import make_survey_pairs
from skgalvae.metrics import mmd2_permutation_test, paired_latent_mse
from skgalvae.plotting import plot_image_grid
from skgalvae.preprocessing import MTFStretch

settings = example_settings("plot_domain_adaptation")
N_SAMPLES, EPOCHS, DA_EPOCHS = settings.sizes(
    full=dict(n_samples=1200, epochs=15, da_epochs=6),
    quick=dict(n_samples=160, epochs=2, da_epochs=1),
)
decals, bass = make_survey_pairs(N_SAMPLES, random_state=0)
X, X_target = (MTFStretch().fit_transform(s.images) for s in (decals, bass))
star = decals.params["star"].to_numpy(bool)

# %%
# Train on DECaLS, then adapt
# ---------------------------
# The adapted model starts from the DECaLS VAE and, by default, keeps it for
# DECaLS unchanged (its encoder and decoder are frozen), so anything fitted on
# DECaLS latents still applies. BASS+MzLS gets an encoder and a decoder of its
# own, started from DECaLS's and trained on its reconstruction plus an MMD
# term, cluster by cluster of the DECaLS latents, that pulls its latents
# toward the DECaLS ones. ``mmd_weight=1`` pulls as hard toward alignment as
# the VAE's own losses pull toward reconstruction (the weight is measured on
# the gradients, so it does not depend on the image size or the loss's
# scale). ``paired=True`` says the rows of ``X`` and ``X_target`` are the same
# galaxies. ``settings.fit(estimator, X)`` is ``estimator.fit(X)``, cached
# between documentation builds.
params = dict(n_latent=16, batch_size=32, device=settings.device, random_state=0)
vae = settings.fit(VAETransformer(max_epochs=EPOCHS, **params), X)
da = settings.fit(
    DomainAdaptedVAETransformer(
        max_epochs=DA_EPOCHS,
        mmd_weight=1.0,
        paired=True,
        init=FrozenEstimator(vae),
        **params,
    ),
    X,
    X_target=X_target,
)

# %%
# How far apart are the surveys' latents?
# ---------------------------------------
# Per galaxy, the MSE between its DECaLS and its BASS+MzLS latents; over the
# sample, MMD^2 between the two clouds of latents and a permutation test of
# it (p near 0: the surveys are told apart; the unbiased MMD^2 estimate can
# dip below 0 when they are not). The last epoch's losses follow: each
# survey's reconstruction term is the calibrated Gaussian's negative
# log-likelihood, lower is better and below 0 for good fits.
# Each survey's images go through that survey's encoder (``domain=``).
mse = {
    name: paired_latent_mse(enc, X, X_target)
    for name, enc in (("before DA", vae), ("after DA", da))
}
latents = {
    "before DA": (vae.transform(X), vae.transform(X_target)),
    "after DA": (
        da.transform(X, domain="source"),
        da.transform(X_target, domain="target"),
    ),
}
for name, (Z_decals, Z_bass) in latents.items():
    statistic, p_value = mmd2_permutation_test(
        Z_decals, Z_bass, n_permutations=50, random_state=0
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
    f"cluster-wise MMD^2 {last['train_cluster_mmd']:.4f}"
)

# %%
# The per-galaxy MSE before and after, on a log scale: adaptation moves the
# whole distribution down, the star-contaminated tail included.
fig, ax = plt.subplots(figsize=(5, 3.2))
bins = np.logspace(
    np.log10(min(m.min() for m in mse.values()) + 1e-8),
    np.log10(max(m.max() for m in mse.values())),
    40,
)
for name, values in mse.items():
    ax.hist(values, bins=bins, histtype="step", label=name)
ax.set(xscale="log", xlabel="paired latent MSE per galaxy", ylabel="galaxies")
ax.legend()
fig.tight_layout()
fig.savefig(settings.out / "domain_adaptation_mse.png", dpi=100)

# %%
# The hardest pairs
# -----------------
# The six galaxies the DECaLS encoder saw most differently in the two surveys
# (``*``: a star in the cutout), and what the adapted model makes of their
# BASS+MzLS latents through each survey's decoder.
worst = np.argsort(mse["before DA"])[::-1][:6]
Z = da.transform(X_target[worst], domain="target")
rows = [
    X[worst],
    X_target[worst],
    da.inverse_transform(Z, domain="source"),
    da.inverse_transform(Z, domain="target"),
]
labels = [
    "DECaLS",
    "BASS+MzLS",
    "BASS latents,\nDECaLS decoder",
    "BASS latents,\nBASS decoder",
]
columns = [f"MSE {mse['before DA'][i]:.3f}" + (" *" if star[i] else "") for i in worst]
fig = plot_image_grid(rows, row_labels=labels, column_labels=columns)
fig.savefig(settings.out / "domain_adaptation_pairs.png", dpi=80)
print(f"figures in {settings.out} (* : a star in the cutout)")
