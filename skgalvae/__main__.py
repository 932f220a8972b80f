"""``python -m skgalvae``: the same as the ``skgalvae`` command."""

from ._cli import main

raise SystemExit(main())
