#!/usr/bin/env bash
# Build the HTML docs with warnings as errors; the gallery really runs every
# example, at its own sizes with trained models cached in docs/_cache (the
# first build takes about half an hour on 2 CPU cores, later ones minutes).
# SKGALVAE_GALLERY=quick docs/build.sh runs the examples' smoke sizes instead.
# Needs the docs extra: pip install -e ".[docs]".
set -euo pipefail
cd "$(dirname "$0")"
rm -rf _build auto_examples generated
python -m sphinx -W --keep-going -b html . _build/html "$@"
echo "docs: $(pwd)/_build/html/index.html"
