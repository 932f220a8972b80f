"""What the study's stages share: the table row, the run's state, figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._report import Report

__all__ = ["Stage", "StudyRun", "mean_of_scored", "save_figure"]


@dataclass(frozen=True)
class Stage:
    """One row of the study's table of stages.

    Parameters
    ----------
    name : str
        Shown by the progress bar and in the report's table of timings.
    compute : callable
        ``compute(run)``: reads the :class:`StudyRun`, computes (through
        ``run.cached`` for anything slow), puts its numbers in
        ``run.results`` and what later stages need on ``run``; returns what
        its report section needs besides.
    report : callable
        ``report(run, shown)``: writes its section of ``run.report`` from
        ``run.results`` and ``shown``, ``compute``'s return value.
    """

    name: str
    compute: Callable[[StudyRun], Any]
    report: Callable[[StudyRun, Any], None]


@dataclass
class StudyRun:
    """The state one run of the study passes from stage to stage.

    ``config``, ``out``, ``cached``, ``results`` and ``report`` are set by
    the runner; the rest by the stage named beside it, for the stages after.
    """

    config: Any
    out: Path
    cached: Callable
    results: dict
    report: Report
    # data
    data: Any = None
    train: np.ndarray | None = None
    test: np.ndarray | None = None
    X_train: np.ndarray | None = None
    X_test: np.ndarray | None = None
    display: slice | None = None
    # latent dimension: the chosen pipeline (stretch, VAE)
    model: Any = None
    # classification: {"vae": (Z_train, Z_test), "pca": (...)}
    encoded: dict = field(default_factory=dict)


def save_figure(fig, out, filename):
    """Save ``fig`` as ``out/filename``, close it, and return ``filename``."""
    fig.savefig(out / filename, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return filename


def mean_of_scored(values):
    """Return the mean of the values that are not None; None if there are none."""
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None
