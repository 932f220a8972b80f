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

from ._fits import check_nan_policy, read_cutout
from ._fits_meta import (
    celestial_wcs,
    cutout_metadata,
    cutout_position,
    metadata_table,
    read_fits_header,
)
from ._formats import FORMATS, cutout_formats, path_format, register_format
from ._images import read_image_file
from ._resize import check_resize


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


def _path_strings(paths, owner):
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


class FITSDataset(LazyImages):
    """FITS cutouts, read lazily: an array-like of shape (n, bands, h, w).

    Pass it as ``X`` to :class:`~skgalvae.VAETransformer` (or a Pipeline, or
    ``GridSearchCV``) to train and encode on more cutouts than fit in memory.

    Parameters
    ----------
    paths : sequence of str or path-like
        One file per cutout holding a (bands, h, w) cube or an (h, w) image,
        or patterns containing ``"{band}"`` with one 2-D file per band.
    bands : sequence of str, default=None
        Band names substituted into ``"{band}"`` patterns, e.g. ``("g", "r", "z")``.
    hdu : int, str or None, default=None
        HDU to read; None takes the first HDU holding an image.
    size : int, default=None
        Bring every cutout to ``size x size``; None keeps the native size (all
        files must then agree).
    resize : {"crop", "area", "bilinear"}, default="crop"
        How to reach ``size``: a centre crop, or resampling.
    nan_policy : "raise" or float, default="raise"
        NaN pixels (masked in survey cutouts) raise an error naming the file,
        or are replaced by this value with a
        :class:`~skgalvae.exceptions.NonFiniteFilledWarning` giving the count.
    num_workers : int, default=0
        Reader processes during fit and transform.
    id_key : str or None, default=None
        Header keyword holding each galaxy's id (e.g. ``"OBJID"``), used by
        :meth:`ids` and :meth:`metadata`; None uses the file paths.

    See Also
    --------
    read_fits : Read the cutouts into memory, with ``return_meta=True`` their
        headers, WCS, ids and positions too.

    Examples
    --------
    >>> from skgalvae.io import FITSDataset
    >>> images = FITSDataset(["a.fits", "b.fits"], size=64)
    >>> len(images), images[[1]].items
    (2, ['b.fits'])
    """

    def __init__(
        self,
        paths,
        *,
        bands=None,
        hdu=None,
        size=None,
        resize="crop",
        nan_policy="raise",
        num_workers=0,
        id_key=None,
    ):
        super().__init__(_path_strings(paths, type(self).__name__), num_workers)
        check_resize(size, resize)
        check_nan_policy(nan_policy)
        self.id_key = id_key
        self.bands = tuple(bands) if bands is not None else None
        self.hdu = hdu
        self.size = size
        self.resize = resize
        self.nan_policy = nan_policy

    @property
    def dtype(self):
        """float32: FITS data are converted to native-endian float32."""
        return np.dtype(np.float32)

    def read_one(self, item):
        """Read one cutout as (bands, h, w) float32."""
        return read_cutout(
            item,
            bands=self.bands,
            hdu=self.hdu,
            size=self.size,
            resize=self.resize,
            nan_policy=self.nan_policy,
        )

    def _with_items(self, items):
        return FITSDataset(
            items,
            bands=self.bands,
            hdu=self.hdu,
            size=self.size,
            resize=self.resize,
            nan_policy=self.nan_policy,
            num_workers=self.num_workers,
            id_key=self.id_key,
        )

    def _metadata(self, item):
        return cutout_metadata(item, hdu=self.hdu, bands=self.bands, id_key=self.id_key)

    def header(self, index):
        """Return the header of cutout ``index`` (its image HDU's).

        Parameters
        ----------
        index : int

        Returns
        -------
        astropy.io.fits.Header
        """
        return read_fits_header(self.items[index], self.hdu, bands=self.bands)

    def wcs(self, index):
        """Return the celestial WCS of cutout ``index``, or None if it has none.

        Parameters
        ----------
        index : int

        Returns
        -------
        astropy.wcs.WCS or None
        """
        return celestial_wcs(self.header(index))

    def metadata(self, indices=None, *, with_headers=False):
        """Return each cutout's id, path and sky position as an astropy Table.

        The position is the celestial WCS at the cutout's central pixel, else
        the header's ``RA``/``DEC`` (or ``RA_OBJ``/``DEC_OBJ``,
        ``OBJRA``/``OBJDEC``) in degrees, else NaN. Only headers are read.

        Parameters
        ----------
        indices : array-like of int, default=None
            Which cutouts; None for all.
        with_headers : bool, default=False
            Also return the ``header`` and ``wcs`` of each, as object columns.

        Returns
        -------
        astropy.table.Table
            Columns ``id``, ``path``, ``ra``, ``dec`` (deg) and, with
            ``with_headers``, ``header`` and ``wcs``.
        """
        rows = range(len(self)) if indices is None else np.asarray(indices).ravel()
        records = [self._metadata(self.items[i]) for i in rows]
        return metadata_table(records, with_headers=with_headers)

    def ids(self):
        """One id per cutout: the ``id_key`` header value, or the path.

        Returns
        -------
        ndarray
            Integers when every header id is one, else objects.
        """
        if self.id_key is None:
            return super().ids()
        ids = np.asarray([self._metadata(item)["id"] for item in self.items])
        return ids.astype(object) if ids.dtype.kind in "OUS" else ids

    row_column_names = ("ra", "dec")

    def row_columns(self, indices):
        """Right ascension and declination (deg) of the cutouts at ``indices``.

        A cutout whose header cannot be read gets NaN (reading its pixels
        reports why).

        Parameters
        ----------
        indices : array-like of int

        Returns
        -------
        dict
            ``{"ra": ndarray, "dec": ndarray}``, float64.
        """
        indices = np.asarray(indices, dtype=np.intp).ravel()
        ra = np.full(len(indices), np.nan)
        dec = np.full(len(indices), np.nan)
        for row, index in enumerate(indices):
            try:
                header = read_fits_header(self.items[index], self.hdu, bands=self.bands)
            except (OSError, ValueError):
                continue
            ra[row], dec[row] = cutout_position(header)
        return {"ra": ra, "dec": dec}


class ImageFileDataset(LazyImages):
    """JPEG or PNG cutouts, read lazily as uint8 (n, 3, h, w).

    Galaxy Zoo distributes its cutouts as colour JPEGs. Images are read with
    Pillow, converted to RGB (or kept as one band with ``mode="L"``) and
    stored channel-first; uint8 input is scaled by 1/255 by the estimators.

    Parameters
    ----------
    paths : sequence of str or path-like
        Image files.
    mode : {"RGB", "L"}, default="RGB"
        Colour (3 bands) or greyscale (1 band).
    size : int, default=None
        Bring every image to ``size x size``; None keeps the native size.
    resize : {"crop", "area", "bilinear"}, default="crop"
        How to reach ``size``.
    num_workers : int, default=0
        Reader processes during fit and transform.
    """

    def __init__(self, paths, *, mode="RGB", size=None, resize="crop", num_workers=0):
        super().__init__(_path_strings(paths, type(self).__name__), num_workers)
        check_resize(size, resize)
        if mode not in ("RGB", "L"):
            raise ValueError(f"mode must be 'RGB' or 'L'; got {mode!r}.")
        self.mode = mode
        self.size = size
        self.resize = resize

    @property
    def dtype(self):
        """uint8, as stored in JPEG and PNG files."""
        return np.dtype(np.uint8)

    def read_one(self, item):
        """Read one image as (bands, h, w) uint8."""
        return read_image_file(item, mode=self.mode, size=self.size, resize=self.resize)

    def _with_items(self, items):
        return ImageFileDataset(
            items,
            mode=self.mode,
            size=self.size,
            resize=self.resize,
            num_workers=self.num_workers,
        )


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


register_format(
    "fits",
    (".fits", ".fit", ".fts", ".fits.gz", ".fits.fz", ".fz"),
    "a FITS cutout",
    FITSDataset,
)
register_format(
    "image", (".jpg", ".jpeg", ".png"), "a JPEG/PNG cutout", ImageFileDataset
)
