"""Image sources read by row ranges: one reader over every kind of store.

:func:`open_source` turns what the user passes (a zarr or HDF5 array or the
path of one, a list of FITS or JPEG/PNG paths or a text file listing them, a
lazy collection, a dask array, a numpy array or memmap) into a
:class:`RowSource`, which reads row ranges and reports, rather than raises
on, the rows that cannot be read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ._formats import check_regular_file, path_format, read_path_list
from ._lazy import is_lazy, is_path_list, lazy_from_paths


@dataclass
class RowBlock:
    """Rows ``start:stop`` of a source as read.

    Attributes
    ----------
    start, stop : int
        The row range.
    images : ndarray of shape (stop - start, ...)
        The images as read (possibly a read-only view); the rows that failed
        hold zeros or their unusable values, and are never encoded.
    errors : dict of int to str
        Why each failed row failed, by offset from ``start``.
    columns : dict of str to ndarray
        Per-row values other than pixels (a FITS cutout's ``ra`` and
        ``dec``), as :attr:`RowSource.column_names` lists.
    """

    start: int
    stop: int
    images: np.ndarray
    errors: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the rows that were read."""
        mask = np.ones(self.stop - self.start, dtype=bool)
        mask[list(self.errors)] = False
        return mask


def _is_dask_array(data) -> bool:
    return type(data).__module__.startswith("dask.array") and hasattr(data, "compute")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class RowSource:
    """Row-range reads from an array-like of images, failures kept per row.

    Parameters
    ----------
    data : array-like of shape (n, ...)
        Anything indexable by a row slice that gives array data: numpy, zarr,
        h5py, a dask array (computed per read) or a lazy collection of files.
    name : str
        How errors name the source.
    close : callable or None, default=None
        Closes the file the source was opened from (an HDF5 file).
    """

    def __init__(self, data, name, close=None):
        if getattr(data, "ndim", 0) < 2:
            raise ValueError(
                f"{name} must hold images or feature rows (at least 2-D, samples "
                f"first); got shape {getattr(data, 'shape', None)}."
            )
        self.data = data
        self.name = name
        self._close = close

    @property
    def n_rows(self) -> int:
        """Number of rows (galaxies)."""
        return int(self.data.shape[0])

    @property
    def default_ids(self):
        """Row ids when the user gives none, or None for arrays (numbered).

        A lazy collection gives its own: file paths, or header ids.
        """
        if is_lazy(self.data) and callable(getattr(self.data, "ids", None)):
            ids = np.asarray(self.data.ids())
            return ids.astype(object) if ids.dtype.kind in "OUS" else ids
        return None

    @property
    def column_names(self) -> tuple:
        """Per-row columns read beside the images (e.g. ``("ra", "dec")``)."""
        return tuple(getattr(self.data, "row_column_names", ()))

    def _read_range(self, start, stop):
        if is_lazy(self.data):
            return self.data.read(np.arange(start, stop))
        block = self.data[start:stop]
        return np.asarray(block.compute() if _is_dask_array(block) else block)

    def read(self, start: int, stop: int) -> RowBlock:
        """Read rows ``start:stop``; a row that cannot be read is recorded.

        A failed block read is retried row by row, so one corrupt file costs
        only its own row. Float rows holding NaN or inf count as failed too:
        an encoder cannot use them, and they must not pass silently.
        """
        try:
            images = self._read_range(start, stop)
            errors = {}
        except Exception:  # noqa: BLE001 - every failure is reported per row below
            images, errors = self._read_rows(start, stop)
        if images.dtype.kind == "f":
            flat = images.reshape(len(images), -1)
            for offset in np.flatnonzero(~np.isfinite(flat).all(axis=1)):
                if int(offset) not in errors:
                    n_nan = int(np.isnan(flat[offset]).sum())
                    n_inf = int(np.isinf(flat[offset]).sum())
                    errors[int(offset)] = (
                        f"non-finite values: {n_nan} NaN and {n_inf} inf"
                    )
        columns = {}
        if self.column_names:
            columns = self.data.row_columns(np.arange(start, stop))
        return RowBlock(start, stop, images, errors, columns)

    def _read_rows(self, start, stop):
        rows, errors = {}, {}
        for offset, row in enumerate(range(start, stop)):
            try:
                rows[offset] = self._read_range(row, row + 1)[0]
            except Exception as exc:  # noqa: BLE001 - reported with the row's id
                errors[offset] = _describe(exc)
        if not rows:
            raise OSError(
                f"No row of {self.name}[{start}:{stop}] could be read; the first "
                f"error: {errors[0]}"
            )
        first = next(iter(rows.values()))
        images = np.zeros((stop - start, *first.shape), dtype=first.dtype)
        for offset, row in rows.items():
            images[offset] = row
        return images, errors

    def close(self):
        """Close the file this source opened, if any."""
        if self._close is not None:
            self._close()
            self._close = None


def _open_store(text, kind, key):
    """Open a zarr store or an HDF5 file; return ``(array, container, close)``."""
    if kind == "zarr":
        import zarr

        node = zarr.open(text, mode="r")
        if isinstance(node, zarr.Group):
            if key is None:
                raise ValueError(
                    f"{text} is a zarr group holding {sorted(node.array_keys())}; "
                    f"pass key= to name the image array."
                )
            if key not in node:
                raise KeyError(f"{text} has no array {key!r}; it holds {sorted(node)}.")
            return node[key], node, None
        return node, None, None
    import h5py

    handle = h5py.File(text, "r")
    if key is None or key not in handle:
        keys = sorted(handle)
        handle.close()
        reason = "pass key= to name" if key is None else f"it has no {key!r};"
        raise KeyError(f"{text} holds datasets {keys}; {reason} the image array.")
    return handle[key], handle, handle.close


def open_source(source, key=None):
    """Open what the user names as images, for reading by row ranges.

    Parameters
    ----------
    source : str, path-like, sequence of paths or array-like
        A zarr store or HDF5 file path (``key`` names the array), a ``.npy``
        file (memory-mapped), a text file listing FITS/JPEG/PNG paths, a list
        of such paths, a lazy collection, or an array (numpy, zarr, h5py,
        dask).
    key : str or None, default=None
        The image array inside a store.

    Returns
    -------
    reader : RowSource
    container : zarr group, h5py file or None
        Where ``ids`` given as a name are looked up.

    Raises
    ------
    ValueError, KeyError, TypeError
        Naming the path, the missing array, or the type that cannot be read.
    """
    container = None
    close = None
    name = "source"
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        name = text + (f"[{key!r}]" if key is not None else "")
        kind = path_format(text, allowed=("zarr", "hdf5", "path list", "numpy"))
        if kind == "numpy":
            if key is not None:
                raise ValueError(f"key= names an array inside a store; {text} is one.")
            check_regular_file(text)
            data = np.load(text, mmap_mode="r")  # read chunk by chunk
        elif kind == "path list":
            if key is not None:
                raise ValueError(
                    f"key= names an array inside a store, but {text} lists files."
                )
            data = lazy_from_paths(read_path_list(text))
        else:
            data, container, close = _open_store(text, kind, key)
    elif is_path_list(source):
        data = lazy_from_paths(source)
    else:
        if key is not None:
            raise ValueError("key= names an array inside a store path; got an array.")
        data = source
        if not hasattr(data, "shape") or not hasattr(data, "__getitem__"):
            raise TypeError(
                f"source must be an array-like of images (numpy, zarr, h5py, dask), "
                f"a lazy collection, a list of file paths, or the path of a zarr or "
                f"HDF5 store; got {type(source).__name__}."
            )
    return RowSource(data, name, close), container
