#!/usr/bin/env bash
# Build the HTML docs with warnings as errors; the gallery really runs every
# example (with --quick). Needs the docs extra: pip install -e ".[docs]".
set -euo pipefail
cd "$(dirname "$0")"
rm -rf _build auto_examples generated
python -m sphinx -W --keep-going -b html . _build/html "$@"
echo "docs: $(pwd)/_build/html/index.html"
