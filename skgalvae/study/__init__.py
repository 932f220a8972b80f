"""The main job: reproduce Xu et al. (2023) end to end and write a report.

``skgalvae study`` on the command line, or :func:`run_study` from Python.
"""

from ._config import StudyConfig
from ._run import run_study
from ._stages import classify_questions, latent_shift

__all__ = ["StudyConfig", "classify_questions", "latent_shift", "run_study"]
