"""What a FITS cutout says about itself: its header, WCS, id and position.

Survey cutout services write the galaxy's identity and sky position into the
header: a celestial WCS centred on the galaxy (the Legacy Surveys viewer,
astropy's ``Cutout2D``), and often ``RA``/``DEC`` or an object id keyword.
:func:`cutout_metadata` reads them so that ids and coordinates travel with
the latents instead of being lost at the pixel array.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from astropy.io import fits

from ._fits import BAND_FIELD, _image_hdu, is_band_pattern
from ._formats import check_regular_file

#: Header keywords tried, in order, for the position when there is no WCS.
POSITION_KEYWORDS = (("RA", "DEC"), ("RA_OBJ", "DEC_OBJ"), ("OBJRA", "OBJDEC"))


def _first_band_path(path, bands):
    path = os.fspath(path)
    return path.replace(BAND_FIELD, bands[0]) if is_band_pattern(path, bands) else path


def read_fits_header(path, hdu=None, *, bands=None) -> fits.Header:
    """Read the header of a cutout's image HDU, without reading its pixels.

    Parameters
    ----------
    path : str or path-like
        The file, or a ``"{band}"`` pattern (the first band's file is read).
    hdu : int, str or None, default=None
        HDU index or name; None takes the first HDU holding an image, as
        :func:`read_fits` does.
    bands : sequence of str, default=None
        Band names for a ``"{band}"`` pattern.

    Returns
    -------
    astropy.io.fits.Header

    Raises
    ------
    OSError
        If the file is missing or not FITS (the message names it).
    ValueError
        If the HDU is missing or no HDU holds an image.
    """
    path = _first_band_path(path, bands)
    check_regular_file(path)
    try:
        with warnings.catch_warnings():
            # A header is whole in a file whose pixels are cut short; reading
            # the pixels reports that, naming the file.
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            warnings.filterwarnings("ignore", message="File may have been truncated")
            with fits.open(path) as hdul:
                return _image_hdu(hdul, hdu, path).header.copy()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"FITS file not found: {path}") from exc
    except OSError as exc:
        raise OSError(f"Could not read {path} as FITS: {exc}") from exc


def celestial_wcs(header):
    """Return the header's celestial WCS, or None when it has none.

    Parameters
    ----------
    header : astropy.io.fits.Header

    Returns
    -------
    astropy.wcs.WCS or None
        Two celestial axes (a cube's band axis dropped).
    """
    from astropy.wcs import WCS, FITSFixedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(header).celestial
    return wcs if wcs.has_celestial and wcs.naxis == 2 else None


def cutout_position(header) -> tuple[float, float]:
    """Return the (RA, Dec) in degrees at the centre of a cutout.

    The celestial WCS is evaluated at the central pixel; without one, the
    first of ``RA``/``DEC``, ``RA_OBJ``/``DEC_OBJ``, ``OBJRA``/``OBJDEC``
    present is taken (degrees). NaN when the header says neither.

    Parameters
    ----------
    header : astropy.io.fits.Header

    Returns
    -------
    (float, float)
    """
    wcs = celestial_wcs(header)
    if wcs is not None:
        nx, ny = header.get("NAXIS1", 1), header.get("NAXIS2", 1)
        ra, dec = wcs.all_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0]
        return float(ra), float(dec)
    for ra_key, dec_key in POSITION_KEYWORDS:
        if ra_key in header and dec_key in header:
            return float(header[ra_key]), float(header[dec_key])
    return np.nan, np.nan


def cutout_metadata(path, *, hdu=None, bands=None, id_key=None) -> dict:
    """Return a cutout's id, path, RA and Dec, and header.

    Parameters
    ----------
    path : str or path-like
        The file or ``"{band}"`` pattern.
    hdu : int, str or None, default=None
        As for :func:`read_fits_header`.
    bands : sequence of str, default=None
        Band names for a ``"{band}"`` pattern.
    id_key : str or None, default=None
        Header keyword holding the galaxy's id; None uses the path.

    Returns
    -------
    dict
        ``id``, ``path``, ``ra``, ``dec`` (degrees, NaN if unknown), ``header``.

    Raises
    ------
    KeyError
        If ``id_key`` is not in the header (the message names the file).
    """
    header = read_fits_header(path, hdu, bands=bands)
    if id_key is None:
        galaxy_id = os.fspath(path)
    elif id_key in header:
        galaxy_id = header[id_key]
    else:
        raise KeyError(
            f"{os.fspath(path)} has no header keyword {id_key!r} (id_key); pass the "
            f"keyword that holds the galaxy's id, or id_key=None for the path."
        )
    ra, dec = cutout_position(header)
    return {"id": galaxy_id, "path": os.fspath(path), "ra": ra, "dec": dec,
            "header": header}  # fmt: skip


def metadata_table(records, *, with_headers=False):
    """Gather :func:`cutout_metadata` records into an astropy Table.

    Parameters
    ----------
    records : list of dict
    with_headers : bool, default=False
        Also keep the ``header`` and ``wcs`` (celestial, or None) columns,
        which are Python objects (a Table holding them cannot be written to
        FITS or ECSV).

    Returns
    -------
    astropy.table.Table
        ``id``, ``path``, ``ra`` and ``dec`` (in deg).
    """
    import astropy.units as u
    from astropy.table import Table

    table = Table()
    table["id"] = [r["id"] for r in records]
    table["path"] = [r["path"] for r in records]
    table["ra"] = np.array([r["ra"] for r in records], dtype=np.float64) * u.deg
    table["dec"] = np.array([r["dec"] for r in records], dtype=np.float64) * u.deg
    if with_headers:
        headers = np.empty(len(records), dtype=object)
        wcs = np.empty(len(records), dtype=object)
        for row, record in enumerate(records):
            headers[row] = record["header"]
            wcs[row] = celestial_wcs(record["header"])
        table["header"] = headers
        table["wcs"] = wcs
    return table
