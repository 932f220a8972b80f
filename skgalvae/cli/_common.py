"""What the ``skgalvae`` commands share: usage errors, argument types and checks.

A module of its own so that each command's module imports it, and none
imports another command's module.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile

__all__ = [
    "SOURCE_HELP",
    "UsageError",
    "check_device",
    "check_output_directory",
    "float_list",
    "int_list",
    "load_model",
    "positive_int",
    "reports_user_errors",
]


#: How the commands that read an image source describe their argument.
SOURCE_HELP = (
    "a .zarr store or .h5 file (with --key), a .npy array, or a text file "
    "listing one FITS/JPEG/PNG path per line (relative to the text file)"
)


def int_list(text):
    """Parse ``10,20,40``: positive integers, at least one."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, e.g. 10,20,40; got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers; got {text!r}")
    return values


def float_list(text):
    """Parse ``0.5,500``: numbers."""
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, e.g. 0.5,500; got {text!r}"
        ) from None


def positive_int(text):
    """Parse a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 1; got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {value}")
    return value


def reports_user_errors(run):
    """Wrap a command's ``run(args)``: what its input raises becomes a UsageError.

    What a command's own input (survey, ids, output) raises is the user's to
    fix, so it is shown as one line (exit status 2); anything else is a bug,
    shown in full.
    """

    @functools.wraps(run)
    def checked(args):
        # Imported here: --help does not import scikit-learn.
        from ..exceptions import OutputLockedError

        try:
            return run(args)
        except (ValueError, KeyError, TypeError, OSError, OutputLockedError) as exc:
            raise UsageError(str(exc)) from None

    return checked


class UsageError(Exception):
    """A user's mistake on the command line: one line, exit status 2."""


def check_output_directory(out, option="--out"):
    """Create ``out`` if needed and prove it writable, before any work.

    Raises
    ------
    UsageError
        If ``out`` is a file, cannot be created, or cannot be written.
    """
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"{option} {out} is a file; give a directory to write to.")
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UsageError(
            f"{option} {out} is not a writable directory ({exc.strerror or exc})."
        ) from None


def check_device(device):
    """Raise :class:`UsageError` unless ``device`` names a usable torch device."""
    from ..nn._device import resolve_device

    try:
        resolve_device(device)
    except ValueError as exc:
        raise UsageError(f"--device: {exc}") from None


def load_model(path):
    """Load a fitted model: a joblib file or a save_pretrained directory.

    Raises a :class:`UsageError` that says why ``path`` is not one.
    """
    import joblib

    if os.path.isdir(path):
        from ..sharing import load_pretrained
        from ..sharing._files import CONFIG_FILE

        if not os.path.isfile(os.path.join(path, CONFIG_FILE)):
            raise UsageError(
                f"{path} is a directory but not a saved model (no {CONFIG_FILE}); "
                f"pass a joblib file or a save_pretrained directory."
            )
        try:
            return load_pretrained(path)
        except (OSError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    if not os.path.isfile(path):
        raise UsageError(f"model file {path} does not exist.")
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling fails in many ways; all mean the same
        raise UsageError(
            f"{path} is not a joblib file of a fitted model "
            f"({type(exc).__name__}: {exc}); write one with joblib.dump(model, path)."
        ) from None
    if not hasattr(model, "transform"):
        raise UsageError(
            f"{path} holds a {type(model).__name__}, not a fitted transformer (a "
            f"skgalvae VAE, or a Pipeline ending in one)."
        )
    return model
