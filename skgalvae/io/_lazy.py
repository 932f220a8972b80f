"""Lazy image collections: read cutouts from files only when a batch needs them.

A :class:`LazyImages` looks enough like a 4-D array for scikit-learn and
skgalvae: it has ``shape``, ``dtype``, ``ndim`` and ``len``, indexing it with
an integer reads one image, and indexing it with a slice or index array
returns a lazy subset without reading anything, which is what
``GridSearchCV`` does to split ``X``. ``np.asarray`` reads it whole.
:meth:`LazyImages.read` reads a batch; skgalvae's training loop reads batches
through a ``torch.utils.data.DataLoader`` with ``num_workers`` processes, so
memory stays bounded by a few batches whatever the number of files.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ._formats import FORMATS, cutout_formats, path_format


def is_lazy(array) -> bool:
    """Whether ``array`` is a lazy image collection read batch by batch.

    The protocol (see :class:`LazyImages`): ``shape``, ``dtype``, ``len``, and
    ``read(indices)`` returning a numpy array of those rows.

    Parameters
    ----------
    array : object

    Returns
    -------
    bool
    """
    return callable(getattr(array, "read", None)) and hasattr(array, "shape")


def path_strings(paths, owner):
    """``paths`` (one path or a sequence of them) as a list of str."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if paths is None or not isinstance(paths, Iterable):
        raise TypeError(
            f"{owner} takes a path or a sequence of paths; got {type(paths).__name__}."
        )
    strings = []
    for i, path in enumerate(paths):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"{owner}'s paths[{i}] is not a path: {path!r:.60} "
                f"({type(path).__name__})."
            )
        strings.append(os.fspath(path))
    return strings


class LazyImages(ABC):
    """A collection of same-shaped images, read from storage on demand.

    Subclasses implement :meth:`read_one` and ``_with_items``; everything else
    (indexing, subsets, batches, ``np.asarray``) comes from here. Write one to
    stream images from another store (HDF5, zarr, a database) through
    :class:`~skgalvae.VAETransformer`.

    Parameters
    ----------
    items : sequence
        One entry per image (a path, a key, ...), passed to :meth:`read_one`.
    num_workers : int, default=0
        Worker processes that read batches during fit and transform
        (``torch.utils.data.DataLoader``); 0 reads in the main process.
    """

    def __init__(self, items, num_workers=0):
        self.items = list(items)
        if not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(
                f"num_workers must be a non-negative int; got {num_workers!r}."
            )
        self.num_workers = int(num_workers)
        self._sample_shape = None

    @abstractmethod
    def read_one(self, item):
        """Read the image of one item as an array of shape (bands, h, w)."""

    @abstractmethod
    def _with_items(self, items):
        """Return a collection of the same kind and settings over ``items``."""

    @property
    @abstractmethod
    def dtype(self):
        """Data type of the images as read."""

    #: Per-row columns :meth:`row_columns` gives, carried into latent tables.
    row_column_names = ()

    def row_columns(self, indices) -> dict:
        """Per-row values other than pixels (e.g. sky position) for ``indices``.

        :func:`~skgalvae.survey.encode_survey` writes them beside the latents.
        A row whose values cannot be read gets NaN. None here; see
        :meth:`FITSDataset.row_columns`.

        Parameters
        ----------
        indices : array-like of int

        Returns
        -------
        dict of str to ndarray
            One array of ``len(indices)`` values per name in
            ``row_column_names``.
        """
        return {}

    def ids(self):
        """One id per image; the items (e.g. file paths) as text by default."""
        return np.asarray([str(item) for item in self.items], dtype=object)

    @property
    def sample_shape(self):
        """Shape (bands, h, w) of one image, from the first readable item.

        A corrupt or missing first file is skipped here (reading it still
        fails, naming it), so one bad file does not make a survey unreadable.
        """
        if self._sample_shape is None:
            if not self.items:
                raise ValueError(
                    f"{type(self).__name__} holds no files: the list of paths it "
                    f"was given is empty."
                )
            first_error = None
            for item in self.items:
                try:
                    self._sample_shape = tuple(self.read_one(item).shape)
                    break
                except (OSError, ValueError) as exc:
                    first_error = first_error or exc
            else:
                raise first_error
        return self._sample_shape

    @property
    def shape(self):
        """Shape (n, bands, h, w) of the collection as an array."""
        if not self.items:
            return (0,)
        return (len(self.items), *self.sample_shape)

    @property
    def ndim(self):
        """Number of dimensions, 4."""
        return len(self.shape)

    def __len__(self):
        return len(self.items)

    def _read_checked(self, item):
        image = self.read_one(item)
        if tuple(image.shape) != self.sample_shape:
            raise ValueError(
                f"{item} has shape {tuple(image.shape)}, but the first image of the "
                f"collection has {self.sample_shape}; pass size= "
                "to crop or resample them to one size."
            )
        return image

    def read(self, indices):
        """Read the images at ``indices`` into an array (k, bands, h, w)."""
        indices = np.asarray(indices, dtype=np.intp).reshape(-1)
        out = np.empty((len(indices), *self.sample_shape), dtype=self.dtype)
        for row, index in enumerate(indices):
            out[row] = self._read_checked(self.items[index])
        return out

    def __getitem__(self, key):
        if isinstance(key, tuple):  # scikit-learn indexes with (rows, ...)
            if len(key) == 2 and key[1] is Ellipsis:
                key = key[0]
            else:
                raise IndexError(
                    f"{type(self).__name__} supports indexing along the sample axis "
                    f"only; got {key!r}."
                )
        if isinstance(key, (int, np.integer)):
            if not -len(self) <= key < len(self):
                raise IndexError(
                    f"index {key} is out of range for {type(self).__name__} of "
                    f"{len(self)} files."
                )
            return self._read_checked(self.items[key])
        if isinstance(key, slice):
            subset = self.items[key]
        else:
            key = np.asarray(key)
            if key.dtype == bool:
                if key.shape != (len(self),):
                    raise IndexError(
                        f"Boolean index of shape {key.shape} for {len(self)} images."
                    )
                key = np.flatnonzero(key)
            subset = [self.items[i] for i in key.reshape(-1)]
        lazy = self._with_items(subset)
        lazy._sample_shape = self._sample_shape
        return lazy

    def __array__(self, dtype=None, copy=None):
        array = self.read(np.arange(len(self)))
        return array if dtype is None else array.astype(dtype, copy=False)

    def __repr__(self):
        return f"{type(self).__name__}(<{len(self)} images>)"


def is_path_list(X) -> bool:
    """Whether ``X`` is a 1-D list or array of file paths (str or path-like)."""
    if isinstance(X, np.ndarray):
        if X.ndim != 1 or X.dtype.kind not in "USO":
            return False
    elif not isinstance(X, (list, tuple)):
        return False
    return len(X) > 0 and all(isinstance(p, (str, os.PathLike)) for p in X)


def lazy_from_paths(paths):
    """Wrap a list of cutout files in the lazy collection of their format.

    The format follows the file suffix (:func:`path_format`, among the
    formats registered with a collection: FITS, JPEG/PNG, and any added by
    :func:`register_format`); one list holds one format. Options (size, HDU,
    NaN policy, reader processes) take their defaults; build a
    :class:`FITSDataset` or :class:`ImageFileDataset` yourself to set them.

    Raises
    ------
    ValueError
        If a suffix is unknown or the list mixes formats (the first offending
        path is named).
    """
    paths = [os.fspath(p) for p in paths]
    kinds = [path_format(path, allowed=cutout_formats()) for path in paths]
    first = kinds[0]
    for path, kind in zip(paths[1:], kinds[1:], strict=True):
        if kind != first:
            raise ValueError(
                f"The paths mix formats: {paths[0]!r} is {FORMATS[first].description}"
                f" and {path!r} {FORMATS[kind].description}; one list holds one."
            )
    return FORMATS[first].collection(paths)
