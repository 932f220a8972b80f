"""A lazy image collection seen through a fitted transformer, batch by batch.

What an image transformer (a stretch, a crop, a resize) returns when its input
is lazy: nothing is read until a batch is asked for, and each batch is
transformed as it is read. ``make_pipeline(MTFStretch(), VAETransformer())``
therefore trains on raw survey files without ever holding the survey in
memory, in reader processes when the files' collection has them.
"""

from __future__ import annotations

import numpy as np

from ._lazy import LazyImages


class TransformedImages(LazyImages):
    """Images of a lazy collection, transformed batch by batch as they are read.

    The image transformers of :mod:`skgalvae.preprocessing` return one when
    given a lazy collection (:class:`FITSDataset`, :class:`ImageFileDataset`,
    a list of paths), so a Pipeline of a stretch and a VAE streams raw survey
    files end to end. It is a lazy collection itself: it has ``shape``,
    ``dtype`` and ``len``, slicing it reads nothing, ``read(indices)`` reads
    and transforms those images, ``np.asarray`` reads and transforms all.

    Parameters
    ----------
    source : LazyImages
        The collection read, e.g. a :class:`FITSDataset` of raw flux.
    transformer : fitted transformer
        Applied to each batch read, as ``transformer.transform(batch)``; it
        must return an array with one image per input image.
    rows : array-like of int, default=None
        Rows of ``source`` this collection holds; None takes them all.

    Attributes
    ----------
    source : LazyImages
        The collection read.
    transformer : object
        The fitted transformer applied.
    items : list of int
        Rows of ``source``, one per image.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from skgalvae.io import FITSDataset, TransformedImages
    >>> from skgalvae.preprocessing import MTFStretch
    >>> folder = tempfile.mkdtemp()
    >>> paths = [os.path.join(folder, f"raw_{i}.fits") for i in range(3)]
    >>> for i, path in enumerate(paths):  # raw flux, as a survey serves it
    ...     flux = np.random.default_rng(i).gamma(2.0, 0.05, (3, 32, 32))
    ...     fits.writeto(path, flux.astype("f4"))
    >>> stretched = MTFStretch().fit_transform(FITSDataset(paths))
    >>> isinstance(stretched, TransformedImages), stretched.shape
    (True, (3, 3, 32, 32))
    >>> batch = stretched.read([0, 2])  # read and stretched now
    >>> batch.dtype, float(batch.min()) >= 0.0, float(batch.max()) <= 1.0
    (dtype('float32'), True, True)
    """

    def __init__(self, source, transformer, rows=None):
        rows = np.arange(len(source)) if rows is None else np.asarray(rows)
        rows = rows.astype(np.intp).reshape(-1)
        super().__init__(rows.tolist(), num_workers=getattr(source, "num_workers", 0))
        self._rows = rows  # ``items`` as an index array, for every batch read
        self.source = source
        self.transformer = transformer
        self._dtype = None

    @property
    def row_column_names(self):
        """The source's per-row columns (e.g. sky positions), kept row for row."""
        return tuple(getattr(self.source, "row_column_names", ()))

    @property
    def dtype(self):
        """Data type of the transformed images."""
        if self._dtype is None:
            output_dtype = getattr(self.transformer, "_output_dtype", None)
            if output_dtype is not None:
                self._dtype = np.dtype(output_dtype(self.source.dtype))
            else:  # any other transformer: look at what it returns
                self._dtype = self.read([0]).dtype
        return self._dtype

    def _with_items(self, items):
        subset = TransformedImages(self.source, self.transformer, rows=items)
        subset._dtype = self._dtype
        return subset

    def read_one(self, item):
        """Read and transform the image at row ``item`` of the source."""
        return self._transform(np.asarray([item]))[0]

    def read(self, indices):
        """Read the images at ``indices`` and transform them as one batch.

        Parameters
        ----------
        indices : array-like of int
            Positions in this collection.

        Returns
        -------
        ndarray of shape (len(indices), bands, h, w)
        """
        indices = np.asarray(indices, dtype=np.intp).reshape(-1)
        return self._transform(self._rows[indices])

    def _transform(self, rows):
        images = self.source.read(rows)
        try:
            out = np.asarray(self.transformer.transform(images))
        except ValueError as exc:
            if len(rows) == 1:
                raise ValueError(
                    f"{type(self.transformer).__name__} cannot transform "
                    f"{self._describe(rows[0])}: {exc}"
                ) from exc
            for row in rows:  # find the image at fault, to name it
                self._transform(np.asarray([row]))
            raise
        if len(out) != len(rows):
            raise ValueError(
                f"{type(self.transformer).__name__} returned {len(out)} images for "
                f"{len(rows)} read; a transformer of a lazy collection must keep "
                f"one image per image."
            )
        return out

    def _describe(self, row):
        """Name source row ``row``: its item (e.g. file path) where it has one."""
        items = getattr(self.source, "items", None)
        if items is not None:
            return f"row {row} of the source ({items[row]})"
        return f"row {row} of the source"

    def ids(self):
        """Return the source's ids of these images (e.g. their file paths)."""
        if callable(getattr(self.source, "ids", None)):
            return np.asarray(self.source.ids())[self._rows]
        return self._rows

    def row_columns(self, indices) -> dict:
        """Return the source's per-row columns (e.g. ``ra``, ``dec``) at ``indices``."""
        if not callable(getattr(self.source, "row_columns", None)):
            return {}
        return self.source.row_columns(self._rows[np.asarray(indices, dtype=np.intp)])

    def __repr__(self):
        return (
            f"TransformedImages(<{len(self)} images> of {self.source!r} through "
            f"{type(self.transformer).__name__})"
        )
