"""The ``skgalvae`` command line: ``skgalvae study`` runs the main job.

Each sub-command is a module of its own (``_study``, ``_encode``,
``_neighbours``) with an ``add_parser(commands)`` that registers its
arguments and its ``run(args)`` (``set_defaults(run=...)``); this module
builds the parser from them and runs the one asked for.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import _encode, _neighbours, _study
from ._common import UsageError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``skgalvae`` command."""
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="skgalvae",
        description="scikit-learn compatible VAEs for galaxy images.",
    )
    parser.add_argument(
        "--version", action="version", version=f"skgalvae {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (_study, _encode, _neighbours):
        command.add_parser(commands)
    return parser


def main(argv=None) -> int:
    """Run the ``skgalvae`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    int
        0 on success.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"skgalvae {args.command}"
    _configure_logging(getattr(args, "quiet", False))
    try:
        return args.run(args)
    except UsageError as exc:
        parser.exit(2, f"{prog}: error: {exc}\n")
    except KeyboardInterrupt as exc:
        resume = getattr(args, "interrupted", None)
        done = f"; {resume}" if resume else ""
        parser.exit(130, f"{prog}: interrupted{done}. {exc}\n")


def _configure_logging(quiet):
    """Send skgalvae's messages to stderr, unless the caller routed them already.

    With ``quiet`` only warnings and errors are shown; progress follows the
    same level (``skgalvae.utils._progress``).
    """
    package = logging.getLogger("skgalvae")
    package.setLevel(logging.WARNING if quiet else logging.INFO)
    if not package.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        package.addHandler(handler)
