"""The command line sphinx-gallery gives each example, and its model cache.

The gallery runs every example at its own sizes, whose figures show the real
behaviour. Trained models and the study's stages are cached under
``docs/_cache`` (joblib files keyed by data, parameters and skgalvae
version), so a rebuild only redraws; delete the directory to retrain. With
``SKGALVAE_GALLERY=quick`` in the environment the examples run their
seconds-long smoke sizes instead, uncached: a check that the docs build, not
docs to read.
"""

import os
import tempfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent / "_cache"
QUICK = os.environ.get("SKGALVAE_GALLERY", "") == "quick"

if not QUICK:
    os.environ.setdefault("SKGALVAE_EXAMPLE_CACHE", str(CACHE))


def example_argv(gallery_conf, script_vars):
    """Return the arguments of one example: its output directory, maybe ``--quick``."""
    name = Path(script_vars["src_file"]).stem
    if QUICK:
        return [
            "--quick",
            "--out",
            os.path.join(tempfile.gettempdir(), "skgalvae-gallery", name),
        ]
    return ["--out", str(CACHE / name / "output")]
