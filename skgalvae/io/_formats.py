"""What kind of file or store a path names: one suffix table for the package.

Every place that opens a path by its name asks :func:`path_format`, so a
suffix means the same thing to the estimators, ``encode_survey`` and the
command line, and an unknown one gets the same message everywhere.
"""

from __future__ import annotations

import os
import stat

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fits.fz", ".fz")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
ZARR_SUFFIXES = (".zarr",)
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
PATH_LIST_SUFFIXES = (".txt",)
NUMPY_SUFFIXES = (".npy",)

_FORMATS = {
    "fits": FITS_SUFFIXES,
    "image": IMAGE_SUFFIXES,
    "zarr": ZARR_SUFFIXES,
    "hdf5": HDF5_SUFFIXES,
    "path list": PATH_LIST_SUFFIXES,
    "numpy": NUMPY_SUFFIXES,
}
_DESCRIPTIONS = {
    "fits": "a FITS cutout",
    "image": "a JPEG/PNG cutout",
    "zarr": "a zarr store",
    "hdf5": "an HDF5 file",
    "path list": "a text file listing cutout paths, one per line",
    "numpy": "a NumPy .npy array (memory-mapped)",
}


def path_format(path, allowed=tuple(_FORMATS)) -> str:
    """Return the kind of file ``path`` names, from its suffix.

    Parameters
    ----------
    path : str or path-like
        A file or store path; case and a trailing slash are ignored.
    allowed : tuple of str, default=all kinds
        The kinds the caller can open, among ``"fits"``, ``"image"``,
        ``"zarr"``, ``"hdf5"`` and ``"path list"``.

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
    lowered = os.fspath(path).rstrip("/").lower()
    for kind in allowed:
        if lowered.endswith(_FORMATS[kind]):
            return kind
    expected = "; ".join(
        f"{_DESCRIPTIONS[kind]} ({', '.join(_FORMATS[kind])})" for kind in allowed
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
