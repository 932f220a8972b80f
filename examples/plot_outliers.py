"""
Finding defects and stars: latent and reconstruction outliers
=============================================================

The study flags galaxies beyond 8 standard deviations in some latent (Sec. 6):
mostly image defects and bright foreground stars. The simulator injects both
at known rates, so the two outlier scores of skgalvae can be checked:

- :class:`~skgalvae.LatentOutlierDetector`: where a galaxy lands in latent
  space, after a stretch + VAE pipeline;
- :class:`~skgalvae.ReconstructionOutlierDetector`: how badly the same VAE
  (passed frozen) reconstructs it.

The example prints, for each score, the precision of its top-ranked galaxies
(as many as there are stars and defects) and draws them, marking the true
stars (*) and defects (!).

Run::

    python examples/plot_outliers.py            # about 3 min on 2 CPU cores
    python examples/plot_outliers.py --quick    # seconds, a smoke run
"""

# %%
# Galaxies with stars and defects
# -------------------------------
# 5% of the simulated cutouts get a bright foreground star and 3% an
# instrumental defect (a saturated column's bleed trail, or masked rows);
# the simulator says which.
import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from skgalvae import (
    LatentOutlierDetector,
    ReconstructionOutlierDetector,
    VAETransformer,
)
from skgalvae._gallery import example_settings
from skgalvae.datasets import make_galaxies
from skgalvae.plotting import plot_image_grid
from skgalvae.preprocessing import MTFStretch

settings = example_settings("plot_outliers")
N_SAMPLES, EPOCHS = settings.sizes(
    full=dict(n_samples=1500, epochs=15), quick=dict(n_samples=200, epochs=2)
)
data = make_galaxies(
    N_SAMPLES, star_fraction=0.05, defect_fraction=0.03, random_state=0
)
star = data.params["star"].to_numpy(bool)
defect = (data.params["defect"] != "none").to_numpy()
truth = star | defect

# %%
# One encoder, two scores
# -----------------------
# A stretch + VAE pipeline is trained on all the cutouts, stars and defects
# included, as on a real survey. ``settings.fit(estimator, X)`` is
# ``estimator.fit(X)``, cached between documentation builds. Both detectors
# take it frozen: the latent one standardises its latents and flags those
# beyond 8 sigma, the reconstruction one scores how badly the VAE redraws a
# cutout.
encoder = settings.fit(
    make_pipeline(
        MTFStretch(),
        VAETransformer(
            8, max_epochs=EPOCHS, batch_size=32, device=settings.device, random_state=0
        ),
    ),
    data.images,
)
latent = make_pipeline(FrozenEstimator(encoder), LatentOutlierDetector(n_sigma=8))
reconstruction = ReconstructionOutlierDetector(FrozenEstimator(encoder))

# %%
# How many of the most outlying are stars or defects?
# ---------------------------------------------------
# For each score, the precision of its top-ranked galaxies (as many as there
# are stars and defects) against the base rate, and the share of stars and of
# defects it ranks there.
scores = {}
for name, detector in (("latent", latent), ("reconstruction", reconstruction)):
    flagged = detector.fit_predict(data.images) == -1
    scores[name] = detector.score_samples(data.images)
    top = np.argsort(scores[name])[: truth.sum()]
    print(
        f"{name}: {flagged.sum()} flagged, {truth[flagged].sum()} of them stars "
        f"or defects; top {truth.sum()}: precision "
        f"{truth[top].mean():.2f} (base rate {truth.mean():.2f}), "
        f"stars {np.isin(np.flatnonzero(star), top).mean():.2f}, defects "
        f"{np.isin(np.flatnonzero(defect), top).mean():.2f}"
    )

# %%
# The eight most outlying cutouts by each score; under each row's name, what
# the simulator put in them: ``*`` a star, ``!`` a defect, ``.`` neither.
rows, labels = [], []
for name, score in scores.items():
    top = np.argsort(score)[:8]
    rows.append(data.images[top])
    labels.append(
        f"{name}\n"
        + " ".join("*" if star[i] else "!" if defect[i] else "." for i in top)
    )
fig = plot_image_grid(rows, row_labels=labels)
fig.savefig(settings.out / "outliers.png", dpi=80)
print(f"saved {settings.out / 'outliers.png'} (* star, ! defect, . neither)")
