"""FITS cutouts as a lazy collection, registered as the ``"fits"`` format."""

from __future__ import annotations

import numpy as np

from ._fits import check_nan_policy, read_cutout
from ._fits_meta import (
    celestial_wcs,
    cutout_metadata,
    cutout_position,
    metadata_table,
    read_fits_header,
)
from ._formats import register_format
from ._lazy import LazyImages, path_strings
from ._resize import check_resize


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
        super().__init__(path_strings(paths, type(self).__name__), num_workers)
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


register_format(
    "fits",
    (".fits", ".fit", ".fts", ".fits.gz", ".fits.fz", ".fz"),
    "a FITS cutout",
    FITSDataset,
)
