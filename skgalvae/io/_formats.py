"""What kind of file or store a path names: one suffix table for the package.

Every place that opens a path by its name asks :func:`path_format`, so a
suffix means the same thing to the estimators, ``encode_survey`` and the
command line, and an unknown one gets the same message everywhere. A format
of cutout files (one galaxy per file) is one :func:`register_format` call
beside its lazy collection; lists of such files are then read by name
everywhere (:func:`skgalvae.io.lazy_from_paths`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """One kind of file or store, told apart by its suffixes.

    Parameters
    ----------
    suffixes : tuple of str
        Lower-case file name endings, e.g. ``(".fits", ".fits.gz")``.
    description : str
        What it is, for messages: ``"a FITS cutout"``.
    collection : callable or None
        ``collection(paths)``: the lazy image collection
        (:class:`~skgalvae.io.LazyImages`) of a list of such files, one
        galaxy per file; ``None`` for stores holding many.
    """

    suffixes: tuple
    description: str
    collection: Callable | None = None


#: The formats by name, in the order suffixes are tried.
FORMATS: dict[str, Format] = {}


def register_format(
    name: str,
    suffixes: tuple,
    description: str,
    collection: Callable | None = None,
) -> Format:
    """Add a format to :data:`FORMATS`, or replace the one of that name.

    Parameters
    ----------
    name : str
        The format's name, e.g. ``"fits"``.
    suffixes : tuple of str
        File name endings, matched whatever their case.
    description : str
        What a file of it is, for messages (``"a FITS cutout"``).
    collection : callable or None, default=None
        For cutout files: builds the lazy collection of a list of paths, e.g.
        a :class:`~skgalvae.io.LazyImages` subclass.

    Returns
    -------
    Format
        The registered entry.

    Raises
    ------
    ValueError
        If a suffix does not start with ``"."`` (or a single string is given).
    TypeError
        If ``collection`` is neither callable nor None.
    """
    if isinstance(suffixes, str) or not all(
        isinstance(suffix, str) and suffix.startswith(".") and len(suffix) > 1
        for suffix in suffixes
    ):
        raise ValueError(
            f"register_format({name!r}): suffixes must be a tuple of file name "
            f"endings each starting with '.', e.g. ('.fits', '.fits.gz'); got "
            f"{suffixes!r}."
        )
    if collection is not None and not callable(collection):
        raise TypeError(
            f"register_format({name!r}): collection must build the lazy collection "
            f"of a list of paths (e.g. a LazyImages subclass) or be None; got "
            f"{type(collection).__name__}."
        )
    entry = Format(tuple(s.lower() for s in suffixes), description, collection)
    FORMATS[name] = entry
    return entry


register_format("zarr", (".zarr",), "a zarr store")
register_format("hdf5", (".h5", ".hdf5", ".hdf"), "an HDF5 file")
register_format(
    "path list", (".txt",), "a text file listing cutout paths, one per line"
)
register_format("numpy", (".npy",), "a NumPy .npy array (memory-mapped)")


def cutout_formats() -> tuple:
    """Return the names of the formats whose files each hold one cutout."""
    return tuple(name for name, entry in FORMATS.items() if entry.collection)


def path_format(path, allowed=None) -> str:
    """Return the kind of file ``path`` names, from its suffix.

    Parameters
    ----------
    path : str or path-like
        A file or store path; case and a trailing slash are ignored.
    allowed : tuple of str, default=None
        The kinds the caller can open (keys of :data:`FORMATS`, e.g.
        ``"fits"``, ``"image"``, ``"zarr"``, ``"hdf5"``, ``"path list"``,
        ``"numpy"``); None allows them all.

    Returns
    -------
    str
        One of ``allowed``.

    Raises
    ------
    ValueError
        If the suffix is none of the allowed kinds'; the message names the
        path and lists the suffixes that are understood.
    """
    allowed = tuple(FORMATS) if allowed is None else allowed
    lowered = os.fspath(path).rstrip("/").lower()
    for kind in allowed:
        if lowered.endswith(FORMATS[kind].suffixes):
            return kind
    expected = "; ".join(
        f"{FORMATS[kind].description} ({', '.join(FORMATS[kind].suffixes)})"
        for kind in allowed
    )
    raise ValueError(
        f"Cannot tell the format of {os.fspath(path)!r}: expected {expected}."
    )


_NOT_REGULAR = {
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def check_regular_file(path) -> None:
    """Refuse a path that is not a regular file (after following symlinks).

    A FIFO blocks a reader forever and a device (``/dev/zero``) never ends:
    both are refused before they are opened. A missing path is left to the
    reader, whose message names it.

    Raises
    ------
    OSError
        Naming the path and what it is.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    for is_kind, kind in _NOT_REGULAR.items():
        if is_kind(mode):
            raise OSError(
                f"{os.fspath(path)} is {kind}, not a regular file; images are read "
                f"from regular files only."
            )


def read_path_list(path) -> list[str]:
    """Read a text file listing cutout paths, one per line.

    Blank lines and lines starting with ``#`` are skipped; relative paths are
    taken relative to the list's own directory, so a list travels with its
    cutouts.

    Parameters
    ----------
    path : str or path-like
        The list file.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        If the file lists no path.
    """
    base = os.path.dirname(os.path.abspath(path))
    check_regular_file(path)
    with open(path) as handle:
        lines = [line.strip() for line in handle]
    paths = [
        os.path.join(base, line) for line in lines if line and not line.startswith("#")
    ]
    if not paths:
        raise ValueError(f"{os.fspath(path)} lists no cutout path.")
    return paths
