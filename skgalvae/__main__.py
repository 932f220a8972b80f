"""``python -m skgalvae``: the same as the ``skgalvae`` command."""

from .cli import main

raise SystemExit(main())
