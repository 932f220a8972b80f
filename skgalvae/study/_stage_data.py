"""Stage 0, the data: the galaxies, their classes and the train/test split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .._version import __version__
from ._data import load_study_data
from ._stage import Stage

__all__ = ["STAGE", "split_galaxies"]


def split_galaxies(classes, test_size, seed):
    """Train and test indices, 70/30, stratified by first-level class if possible."""
    index = np.arange(len(classes))
    counts = pd.Series(classes).value_counts()
    stratify = np.asarray(classes) if counts.min() >= 2 else None
    return train_test_split(
        index, test_size=test_size, random_state=seed, stratify=stratify
    )


# A cached stage body (``run.cached``, see _cache.py): ``key`` is made of the
# StudyConfig fields in its ``reads``, and those are all it may read.
def _load(key, config):
    return load_study_data(config)


_load.reads = ("data", "data_path", "catalog_path", "image_size", "n_samples", "seed")


def _compute(run):
    data = run.data = run.cached(_load)
    run.train, run.test = split_galaxies(
        data.classes, run.config.test_size, run.config.seed
    )
    run.X_train, run.X_test = data.images[run.train], data.images[run.test]
    # Images without a stretch are RGB JPEGs: shown as z, r, g like the FITS.
    run.display = slice(None, None, -1) if not data.stretch else None
    run.results["data"] = {
        "name": data.name,
        "n_galaxies": len(data.images),
        "shape": list(data.images.shape[1:]),
        "n_train": len(run.train),
        "n_test": len(run.test),
        "class_counts": data.classes.value_counts().to_dict(),
    }


def _report(run, shown):
    data = run.data
    run.report.text(
        f"Data: {data.name}, images {tuple(data.images.shape[1:])}, split "
        f"{len(run.train)} train / {len(run.test)} test. skgalvae {__version__}; "
        "every number is in `results.json`."
    )


STAGE = Stage("data", _compute, _report)
