"""Read multi-band FITS cutouts into (bands, h, w) float32 arrays."""

from __future__ import annotations

import os
import warnings

import numpy as np
from astropy.io import fits

from ..exceptions import NonFiniteFilledWarning
from ._formats import check_regular_file
from ._resize import resize_image

BAND_FIELD = "{band}"


def _image_hdu(hdul, hdu, path):
    """Return the requested HDU, or the first one holding an image."""
    if hdu is not None:
        try:
            return hdul[hdu]
        except (KeyError, IndexError) as exc:
            names = [h.name for h in hdul]
            raise ValueError(
                f"{path} has no HDU {hdu!r}; it has {len(hdul)} HDU(s): {names}."
            ) from exc
    for h in hdul:  # by the header: headers are read without the pixels
        if h.is_image and h.header.get("NAXIS", 0) > 0:
            return h
    raise ValueError(f"{path} holds no image data in any of its {len(hdul)} HDU(s).")


def read_fits_file(path, hdu=None):
    """Read one FITS image as native-endian float32, never partially.

    Parameters
    ----------
    path : str or path-like
        The file.
    hdu : int, str or None, default=None
        HDU index or name; None takes the first HDU holding an image.

    Returns
    -------
    ndarray of shape (h, w) or (bands, h, w), float32, native byte order
        FITS data are big-endian; torch rejects non-native byte order.

    Raises
    ------
    OSError
        If the file is missing, not FITS, or truncated (the message names it).
    ValueError
        If the HDU is missing or holds no image, or is not 2-D or 3-D.
    """
    path = os.fspath(path)
    check_regular_file(path)
    try:
        with warnings.catch_warnings():
            # A truncated file only warns on open; reading its data fails below,
            # with an error that names the file.
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            warnings.filterwarnings("ignore", message="File may have been truncated")
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                data = _image_hdu(hdul, hdu, path).data
                if data is None:
                    raise ValueError(f"HDU {hdu!r} of {path} holds no data.")
                # astype converts big-endian '>f4' to native float32.
                image = np.asarray(data).astype(np.float32)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"FITS file not found: {path}") from exc
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        # astropy reports a short data segment as a failed reshape.
        raise OSError(
            f"Could not read the image data of {path}: the file is truncated or "
            f"corrupt ({exc})."
        ) from exc
    except OSError as exc:
        raise OSError(f"Could not read {path} as FITS: {exc}") from exc
    if image.ndim not in (2, 3):
        raise ValueError(
            f"{path} holds a {image.ndim}-D image of shape {image.shape}; expected "
            f"(h, w) or (bands, h, w)."
        )
    return image


def apply_nan_policy(image, nan_policy, source):
    """Raise on non-finite pixels, or fill NaN with a value and report the count.

    Parameters
    ----------
    image : ndarray
        Pixels; filled in place.
    nan_policy : "raise" or float
        ``"raise"`` (default everywhere) refuses NaN and infinite pixels. A
        number replaces NaN (masked pixels in survey cutouts) with it and
        warns with the count; infinite values always raise.
    source : str
        Where the image comes from, for messages.

    Returns
    -------
    int
        Number of pixels filled.
    """
    nan = np.isnan(image)
    n_nan = int(nan.sum())
    n_inf = int(np.isinf(image).sum())
    if n_inf or (n_nan and nan_policy == "raise"):
        counts = ", ".join(
            f"{count} {what}"
            for count, what in ((n_nan, "NaN"), (n_inf, "infinite"))
            if count
        )
        hint = "" if n_inf else " Pass nan_policy=<fill value> to fill NaN pixels."
        raise ValueError(f"{source} has {counts} pixel(s).{hint}")
    if n_nan:
        image[nan] = nan_policy
        warnings.warn(
            f"{source}: filled {n_nan} NaN pixel(s) with {nan_policy}.",
            NonFiniteFilledWarning,
            stacklevel=3,
        )
    return n_nan


def check_nan_policy(nan_policy):
    """Validate a ``nan_policy`` argument."""
    if nan_policy == "raise":
        return
    if (
        isinstance(nan_policy, (bool, np.bool_))
        or not isinstance(nan_policy, (int, float, np.integer, np.floating))
        or not np.isfinite(nan_policy)
    ):
        raise ValueError(
            f"nan_policy must be 'raise' or a finite fill value; got {nan_policy!r}."
        )


def is_band_pattern(path, bands) -> bool:
    """Whether ``path`` is a ``"{band}"`` pattern; raise if it has no bands.

    Parameters
    ----------
    path : str
        A file path or pattern.
    bands : sequence of str or None
        The band names to substitute.

    Returns
    -------
    bool
    """
    if BAND_FIELD not in path:
        if bands:
            raise ValueError(
                f"bands={tuple(bands)} was given, but {path} is not a "
                f"{BAND_FIELD} pattern: bands name the one-band files of a "
                f"pattern such as 'J1234_{BAND_FIELD}.fits'. A cube's planes "
                f"are read in their stored order; leave bands out for cubes."
            )
        return False
    if not bands:
        raise ValueError(
            f"{path} contains {BAND_FIELD} but no bands were given; pass e.g. "
            "bands=('g', 'r', 'z')."
        )
    return True


def read_cutout(path, *, bands, hdu, size, resize, nan_policy):
    """Read one cutout as (bands, size, size) float32.

    ``path`` holding ``"{band}"`` is a pattern: one 2-D file per band.
    """
    path = os.fspath(path)
    if is_band_pattern(path, bands):
        planes = []
        for band in bands:
            band_path = path.replace(BAND_FIELD, band)
            plane = read_fits_file(band_path, hdu)
            if plane.ndim != 2:
                raise ValueError(
                    f"{band_path} holds an image of shape {plane.shape}; per-band "
                    "files must be 2-D."
                )
            planes.append(plane)
        shapes = {p.shape for p in planes}
        if len(shapes) > 1:
            raise ValueError(
                f"The band files of {path} differ in shape: "
                f"{dict(zip(bands, [p.shape for p in planes], strict=True))}."
            )
        image = np.stack(planes)
    else:
        image = read_fits_file(path, hdu)
        if image.ndim == 2:
            image = image[None]
    apply_nan_policy(image, nan_policy, path)
    return resize_image(image, size, resize, path)
