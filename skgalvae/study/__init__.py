"""The main job: reproduce Xu et al. (2023) end to end and write a report.

``skgalvae study`` on the command line, or :func:`run_study` from Python.
:class:`StudyConfig` imports nothing heavy; the rest is imported on first use.
"""

from ..utils._lazy_imports import lazy_attributes
from ._config import StudyConfig

__all__ = ["StudyConfig", "classify_questions", "latent_shift", "run_study"]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "classify_questions": "._stage_classification",
        "latent_shift": "._stage_adaptation",
        "run_study": "._run",
    },
    globals(),
)
