"""
Grid-search the latent dimension of a VAE + random forest pipeline
===================================================================

Fits ``Pipeline([("stretch", MTFStretch()), ("vae", VAETransformer()),
("rf", RandomForestClassifier())])`` on the built-in simulated DECaLS galaxies
(:func:`skgalvae.datasets.make_galaxies`) to tell smooth from featured
galaxies (the first question of the Galaxy Zoo decision tree), grid-searches
``vae__n_latent`` with cross-validation, scores the best pipeline on held-out
galaxies, saves it with joblib, reloads it, and plots reconstructions next to
the originals.

Run::

    python examples/plot_pipeline_gridsearch.py            # about 4 min on 2 CPU cores
    python examples/plot_pipeline_gridsearch.py --quick    # seconds, a smoke run
"""

# %%
# Smooth or featured
# ------------------
# The first question of the Galaxy Zoo decision tree, on simulated DECaLS
# galaxies; 30% are held out for the final score.
import joblib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skgalvae import VAETransformer
from skgalvae._gallery import example_settings
from skgalvae.datasets import make_galaxies
from skgalvae.preprocessing import MTFStretch

settings = example_settings("plot_pipeline_gridsearch")
N_SAMPLES, EPOCHS, LATENTS, CV = settings.sizes(
    full=dict(n_samples=800, epochs=6, latents=[2, 8, 32], cv=3),
    quick=dict(n_samples=120, epochs=2, latents=[2, 8], cv=2),
)
data = make_galaxies(N_SAMPLES, image_size=64, random_state=0)
target = data.params["morphology"].to_numpy()  # "smooth" or "featured"
X_train, X_test, y_train, y_test = train_test_split(
    data.images, target, test_size=0.3, random_state=0, stratify=target
)

# %%
# A pipeline and a grid
# ---------------------
# The VAE is a scikit-learn transformer, so the latent dimension is a
# hyper-parameter like any other: ``GridSearchCV`` clones the whole pipeline
# per candidate and fold, trains the VAE on the fold's training galaxies only
# and scores the forest on the rest. ``settings.fit(estimator, X, y)`` is
# ``estimator.fit(X, y)``, cached between documentation builds.
pipe = Pipeline(
    [
        ("stretch", MTFStretch()),
        (
            "vae",
            VAETransformer(
                max_epochs=EPOCHS,
                batch_size=16,
                device=settings.device,
                random_state=0,
            ),
        ),
        ("rf", RandomForestClassifier(n_estimators=200, random_state=0)),
    ]
)
search = settings.fit(
    GridSearchCV(pipe, {"vae__n_latent": LATENTS}, cv=CV), X_train, y_train
)
print(f"grid search: {len(LATENTS)} candidates x {CV} folds")
results = search.cv_results_
print(f"{'n_latent':>8}  {'cv accuracy':>12}")
for n_latent, mean, std in zip(
    results["param_vae__n_latent"],
    results["mean_test_score"],
    results["std_test_score"],
    strict=True,
):
    print(f"{n_latent:>8}  {mean:>8.3f} +- {std:.3f}")

# %%
# The best pipeline on held-out galaxies
# --------------------------------------
# ``best_estimator_`` was refit on all training galaxies. Its accuracy on the
# held-out galaxies, and how well its VAE reconstructs them (SSIM, 1 is a
# perfect copy).
best = search.best_estimator_
vae = best.named_steps["vae"]
accuracy = best.score(X_test, y_test)
stretched = best.named_steps["stretch"].transform(X_test)
print(
    f"best n_latent = {vae.n_latent}: test accuracy {accuracy:.3f}, "
    f"reconstruction SSIM {vae.score(stretched):.3f}"
)

# %%
# Fit anywhere, reuse anywhere
# ----------------------------
# The fitted pipeline pickles with joblib like any scikit-learn model; a
# pipeline fitted on a GPU loads on a machine without one.
model_path = settings.out / "pipeline.joblib"
joblib.dump(best, model_path)
reloaded = joblib.load(model_path)
assert np.array_equal(reloaded.predict(X_test), best.predict(X_test))
print(f"saved and reloaded {model_path}")

# %%
# Held-out galaxies (top) and their reconstructions by the best VAE (below),
# titled with their true class; right, the cross-validated accuracy per
# latent dimension.
n_show = 6
originals = stretched[:n_show]
recon = vae.reconstruct(originals)
fig, axes = plt.subplots(2, n_show + 1, figsize=(2 * (n_show + 1), 4.2))
for i in range(n_show):
    for row, images in enumerate((originals, recon)):
        ax = axes[row, i]
        # z, r, g as red, green, blue; clipped for display only.
        ax.imshow(images[i, ::-1].transpose(1, 2, 0).clip(0, 1), origin="lower")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, i].set_title(y_test[i])
axes[0, 0].set_ylabel("original")
axes[1, 0].set_ylabel("reconstruction")
gs = axes[0, -1].get_gridspec()
axes[0, -1].remove()
axes[1, -1].remove()
ax = fig.add_subplot(gs[:, -1])
ax.errorbar(
    results["param_vae__n_latent"].astype(int),
    results["mean_test_score"],
    results["std_test_score"],
    marker="o",
)
ax.set_xscale("log")
ax.set_xticks(LATENTS, [str(n) for n in LATENTS])
ax.minorticks_off()
ax.set_xlabel("n_latent")
ax.set_ylabel("CV accuracy")
fig.tight_layout()
fig.savefig(settings.out / "pipeline_gridsearch.png", dpi=100)
print(f"wrote {settings.out / 'pipeline_gridsearch.png'}")
