"""Sphinx configuration of the skgalvae documentation.

Build with ``docs/build.sh`` (warnings are errors). The gallery executes every
``examples/plot_*.py`` at its own sizes, with the trained models cached under
``docs/_cache`` (see ``gallery_argv.py``); ``SKGALVAE_GALLERY=quick`` runs the
smoke sizes instead.
"""

import sys
from pathlib import Path

import skgalvae

sys.path.insert(0, str(Path(__file__).resolve().parent))

project = "skgalvae"
author = "The skgalvae developers"
copyright = "2026, The skgalvae developers"  # noqa: A001
version = release = skgalvae.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_cache", "auto_examples/*.ipynb", "**/*.py.md5"]
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

autosummary_generate = True
# scikit-learn's generated metadata-request setters are documented there.
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": ", ".join(
        f"set_{method}_request"
        for method in ("fit", "score", "transform", "inverse_transform", "predict")
    ),
}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it already
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(^|[/\\])_[^/\\]*$",  # private helpers beside the examples
    "reset_argv": "gallery_argv.example_argv",  # a name: the config stays picklable
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skgalvae {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
