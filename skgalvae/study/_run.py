"""Run the whole study: a table of stages, run in order, cached, then a report.

Each stage is a module of its own (``_stage_data``, ``_stage_latents``, ...)
that ends in a :class:`~._stage.Stage` (its name, what it computes, its
report section); :data:`STAGES` lists them in order. A new stage is a new
module plus its line here.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

from .._version import __version__
from ..survey._lock import exclusive_writer
from ..utils._progress import progress
from . import (
    _stage_adaptation,
    _stage_classification,
    _stage_data,
    _stage_latents,
    _stage_outliers,
    _stage_pictures,
)
from ._cache import stage_cache
from ._config import StudyConfig
from ._glance import glance_table
from ._report import Report
from ._stage import StudyRun

__all__ = ["STAGES", "run_study"]

logger = logging.getLogger("skgalvae.study")

#: The study's stages, in the order they run and appear in the report.
STAGES = (
    _stage_data.STAGE,
    _stage_latents.STAGE,
    _stage_classification.STAGE,
    _stage_adaptation.STAGE,
    _stage_outliers.STAGE,
    _stage_pictures.STAGE,
)


class _Timer:
    def __init__(self):
        self.seconds = {}

    @contextmanager
    def __call__(self, name):
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)


def run_study(
    config: StudyConfig | None = None,
    out: str | os.PathLike = "report",
    *,
    cache: bool = True,
) -> dict:
    """Reproduce Xu et al. (2023) end to end and write a report.

    Stages, each cached in ``out/cache`` (:class:`joblib.Memory`) so that a
    re-run after a crash, or with one setting changed, redoes only what
    depends on it:

    1. latent dimension: GridSearchCV over ``n_latent`` scored by SSIM for
       each loss; the knee (:class:`~skgalvae.model_selection.KneeRefit`) of
       the first loss picks the model; per-class SSIM on the test galaxies;
    2. classification: a random forest per question on the model's latents,
       and on PCA of the same dimension ("eigengalaxies");
    3. domain adaptation DECaLS -> BASS+MzLS (simulator only);
    4. galaxies beyond ``n_sigma`` in any latent;
    5. reconstructions, latent traversals, a t-SNE map, prior samples.

    Parameters
    ----------
    config : StudyConfig, default=None
        Settings; None runs the default built-in study.
    out : path-like, default="report"
        Directory for ``report.md``, ``report.html``, ``results.json``, the
        PNG figures and the chosen ``model.joblib``.
    cache : bool, default=True
        Cache stages in ``out/cache``.

    Returns
    -------
    dict
        Every number of the run, as written to ``results.json``.
    """
    config = StudyConfig() if config is None else config
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "The study draws figures with matplotlib: pip install 'skgalvae[plot]'."
        ) from exc
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # One run per directory: two would leave one's results beside the
    # other's model.
    with exclusive_writer(str(out), mixing="their results and models"):
        logger.info("study: %s -> %s", config.plan(), out)
        return _run_stages(config, out, cache)


def _run_stages(config, out, cache):
    """Run every stage of :func:`run_study` into ``out`` (locked by the caller)."""
    run = StudyRun(
        config=config,
        out=out,
        cached=stage_cache(config, out / "cache" if cache else None),
        results={"skgalvae_version": __version__, "config": config.to_dict()},
        report=Report("Reproducing Xu et al. (2023) with skgalvae"),
    )
    run.results["smoke_run"] = config.smoke
    if config.smoke:
        run.report.text(
            "**Smoke run.** Every stage ran at toy sizes (a few hundred galaxies, "
            "a few epochs) to check that the installation works end to end. Its "
            "numbers and figures are not results: run without --quick for them. "
            "Smaller than the full run: " + "; ".join(config.reduced()) + "."
        )
    timer = _Timer()
    glance_at = None  # the summary goes after the data section, once all is known
    with progress(total=len(STAGES), desc="study", unit="stage") as bar:
        for stage in STAGES:
            bar.set_postfix_str(stage.name)
            with timer(stage.name):
                shown = stage.compute(run)
            bar.update(1)
            stage.report(run, shown)
            if glance_at is None:
                glance_at = len(run.report.blocks)

    report, results = run.report, run.results
    report.insert(glance_at, glance_table(results))
    results["timings_s"] = timer.seconds
    results["environment"] = _environment(run.model[-1].device_)
    report.heading("Run settings, versions and timings")
    report.table(
        ["setting", "value"],
        [(k, _setting(v)) for k, v in config.to_dict().items()]
        + list(results["environment"].items()),
    )
    report.table(["stage", "seconds"], list(timer.seconds.items()))
    if cache:
        report.text(
            "Seconds of this invocation: a stage found in the cache (`cache/` "
            "beside this report) is read in seconds, however long it took to "
            "compute."
        )
    results["files"] = {k: str(v) for k, v in report.write(out, results).items()}
    return results


def _environment(device):
    """Versions and the device of the run, for the report and results.json."""
    import platform

    import sklearn
    import torch

    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
    else:  # the threads torch ran on, which OMP_NUM_THREADS may cap
        threads = torch.get_num_threads()
        name = f"CPU, torch on {threads} thread{'s' * (threads != 1)}"
    return {
        "skgalvae": __version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
        "device used": f"{device} ({name}), {os.cpu_count()} CPU cores",
    }


def _setting(value):
    """Show a settings value as the command line takes it."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return "-" if value is None else value
