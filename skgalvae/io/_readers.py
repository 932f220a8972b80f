"""Read whole lists of cutouts into memory."""

from __future__ import annotations

import numpy as np

from ._fits_dataset import FITSDataset
from ._images import ImageFileDataset


def read_fits(
    paths,
    *,
    bands=None,
    hdu=None,
    size: int | None = None,
    resize: str = "crop",
    nan_policy="raise",
    return_meta: bool = False,
    id_key: str | None = None,
):
    """Read multi-band FITS cutouts into one (n, bands, h, w) float32 array.

    FITS data are big-endian; the result is native-endian float32, which torch
    and skgalvae's estimators accept. A truncated or corrupt file raises an
    error naming it; nothing is returned partially. For more cutouts than fit
    in memory, pass a :class:`FITSDataset` to the estimators instead.

    Parameters
    ----------
    paths : str, path-like or sequence of them
        One file per cutout, a (bands, h, w) cube or an (h, w) image; or
        patterns containing ``"{band}"`` with one 2-D file per band, e.g.
        ``"cutouts/J1234_{band}.fits"``.
    bands : sequence of str, default=None
        Band names substituted into ``"{band}"`` patterns, in output order.
    hdu : int, str or None, default=None
        HDU index or name; None takes the first HDU holding an image.
    size : int, default=None
        Bring every cutout to ``size x size``; None keeps the native size (all
        files must then agree).
    resize : {"crop", "area", "bilinear"}, default="crop"
        A centre crop, area-averaging resampling (keeps the mean surface
        brightness) or bilinear interpolation.
    nan_policy : "raise" or float, default="raise"
        NaN pixels raise an error naming the file and the count, or are
        replaced by this value with a
        :class:`~skgalvae.exceptions.NonFiniteFilledWarning` per file giving
        the count. Infinite pixels always raise.
    return_meta : bool, default=False
        Also return what each file's header says about its galaxy.
    id_key : str or None, default=None
        With ``return_meta``, the header keyword holding each galaxy's id
        (e.g. ``"OBJID"``); None uses the path.

    Returns
    -------
    images : ndarray of shape (n, bands, h, w), float32
    meta : astropy.table.Table
        Only with ``return_meta``: one row per cutout with ``id``, ``path``,
        ``ra`` and ``dec`` (degrees; the celestial WCS at the central pixel,
        else the ``RA``/``DEC`` keywords, else NaN), and ``header`` and
        ``wcs`` (the celestial :class:`~astropy.wcs.WCS`, or None) as
        object columns. The WCS is the file's: after a crop or resampling
        (``size``), its reference pixel no longer matches the array.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.io import fits
    >>> from skgalvae.io import read_fits
    >>> path = getfixture("tmp_path") / "cutout.fits"
    >>> fits.PrimaryHDU(np.ones((3, 80, 80), dtype=">f4")).writeto(path)
    >>> images = read_fits([path], size=64)
    >>> images.shape, images.dtype.isnative
    ((1, 3, 64, 64), True)
    """
    dataset = FITSDataset(
        paths,
        bands=bands,
        hdu=hdu,
        size=size,
        resize=resize,
        nan_policy=nan_policy,
        id_key=id_key,
    )
    images = np.asarray(dataset)
    if not return_meta:
        return images
    return images, dataset.metadata(with_headers=True)


def read_images(
    paths, *, mode: str = "RGB", size: int | None = None, resize: str = "crop"
) -> np.ndarray:
    """Read 8-bit JPEG or PNG cutouts into one (n, bands, h, w) uint8 array.

    Deeper pixels (16-bit PNG or TIFF, float TIFF) and FITS files are refused
    with a message naming the file, instead of being cut to 8 bits: read FITS
    with :func:`read_fits`.

    Parameters
    ----------
    paths : str, path-like or sequence of them
        Image files, e.g. Galaxy Zoo's colour JPEGs.
    mode : {"RGB", "L"}, default="RGB"
        Colour (3 bands) or greyscale (1 band).
    size : int, default=None
        Bring every image to ``size x size``; None keeps the native size.
    resize : {"crop", "area", "bilinear"}, default="crop"
        How to reach ``size``.

    Returns
    -------
    ndarray of shape (n, 3 or 1, h, w), uint8
    """
    return np.asarray(ImageFileDataset(paths, mode=mode, size=size, resize=resize))
