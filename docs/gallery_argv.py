"""Command-line arguments sphinx-gallery gives each example: the quick sizes."""

import os
import tempfile
from pathlib import Path

_OUT = tempfile.mkdtemp(prefix="skgalvae-gallery-")


def quick_argv(gallery_conf, script_vars):
    """Run each example with ``--quick``, writing into a throw-away directory."""
    name = Path(script_vars["src_file"]).stem
    return ["--quick", "--out", os.path.join(_OUT, name)]
