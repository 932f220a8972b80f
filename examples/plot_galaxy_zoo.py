"""
The built-in galaxies: every Galaxy Zoo DECaLS class, seen by both surveys
==========================================================================

Simulates the same galaxies as DECaLS and as BASS+MzLS would image them
(:func:`skgalvae.datasets.make_survey_pairs`) and draws, for each of the 26
classes of the study's nine GZD-5 questions, a few examples in both surveys:
DECaLS on the left, the same galaxies in BASS+MzLS on the right. A last row
shows cutouts with a foreground star or an instrumental defect. It also prints
how well the labels derived from simulated volunteer votes
(:func:`skgalvae.labels.gzd5_labels`) agree with the truth.

Run::

    python examples/plot_galaxy_zoo.py              # a few seconds
    python examples/plot_galaxy_zoo.py --quick      # fewer galaxies
"""

# %%
# The same galaxies in two surveys
# --------------------------------
# :func:`~skgalvae.datasets.make_survey_pairs` renders each galaxy twice: as
# DECaLS images it (0.262"/px, deeper) and as BASS+MzLS does (g and r from
# BASS's coarser 0.454"/px pixels resampled, a broader PSF, more noise). The
# images are raw fluxes; the plotting functions stretch them for display.
import numpy as np

from skgalvae._gallery import example_settings
from skgalvae.datasets import make_survey_pairs
from skgalvae.labels import GZD5_QUESTIONS, gzd5_labels
from skgalvae.plotting import plot_image_grid

settings = example_settings("plot_galaxy_zoo")
(N_SAMPLES,) = settings.sizes(full=dict(n_samples=1500), quick=dict(n_samples=300))
PER_CLASS, SIZE = 4, 64
decals, bass = make_survey_pairs(N_SAMPLES, image_size=SIZE, random_state=0)

# %%
# Every class of the nine questions
# ---------------------------------
# For each of the 26 classes of the study's nine GZD-5 questions, four clean
# examples (no star, no defect): DECaLS on the left, the same galaxies in
# BASS+MzLS on the right. The last row shows cutouts with a foreground star or
# an instrumental defect.
clean = (~decals.params["star"]) & (decals.params["defect"] == "none")
rows, names = [], []
for name, question in GZD5_QUESTIONS.items():
    for cls in question.classes:
        idx = np.flatnonzero((decals.labels[name] == cls) & clean)[:PER_CLASS]
        rows.append(np.concatenate([decals.images[idx], bass.images[idx]]))
        names.append(f"{name}: {cls}")
flagged = np.flatnonzero(~clean)[:PER_CLASS]
rows.append(np.concatenate([decals.images[flagged], bass.images[flagged]]))
names.append("star / defect")
columns = ["DECaLS"] * PER_CLASS + ["BASS+MzLS"] * PER_CLASS
fig = plot_image_grid(rows, row_labels=names, column_labels=columns)
path = settings.out / f"galaxy_zoo_classes_{SIZE}.png"
fig.savefig(path, dpi=80)
print(f"saved {path}")

# %%
# Labels from votes
# -----------------
# The simulator also casts volunteer votes on each question of the decision
# tree; :func:`~skgalvae.labels.gzd5_labels` turns vote fractions into the
# study's classes with its thresholds, as it would for the real GZD-5
# catalogue. A galaxy whose votes pass no threshold gets no label, so the
# derived labels cover fewer galaxies than the truth, and agree with it where
# they exist.
derived = gzd5_labels(decals.votes)
print("labels from simulated votes vs truth:")
for name in GZD5_QUESTIONS:
    truth = decals.labels[name]
    both = derived[name].notna() & truth.notna()
    agree = (derived[name][both] == truth[both]).mean()
    print(
        f"  {name:14s} labelled {both.sum():4d} of {truth.notna().sum():4d}, "
        f"agree {agree:.1%}"
    )
