"""JPEG and PNG cutouts: read with Pillow, one by one or as a lazy collection.

:class:`ImageFileDataset` is registered as the ``"image"`` format.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ._formats import check_regular_file, register_format
from ._lazy import LazyImages, path_strings
from ._resize import check_resize, resize_image

#: Picture formats read here; anything else Pillow opens (FITS among them)
#: is refused, since converting it to 8-bit colour would destroy it.
_PICTURE_FORMATS = {"JPEG", "MPO", "PNG", "TIFF", "BMP", "GIF", "WEBP", "PPM"}
# Pillow modes of single-band pixels deeper than 8 bits.
_DEEP_MODES = {"I", "F", "I;16", "I;16B", "I;16L", "I;16N"}


def _check_picture(img, path):
    """Refuse files that are not 8-bit pictures, before their pixels are read."""
    if img.format not in _PICTURE_FORMATS:
        hint = (
            "read it with skgalvae.io.read_fits (or stream it with FITSDataset)"
            if img.format == "FITS"
            else "convert it to an 8-bit picture (JPEG or PNG) first"
        )
        raise ValueError(
            f"{path} is a {img.format} file, not a JPEG/PNG picture; reading it as "
            f"8-bit colour would destroy its values: {hint}."
        )
    rawmode = img.tile[0].args if img.tile else ""
    rawmode = rawmode[0] if isinstance(rawmode, tuple) else str(rawmode)
    if img.mode in _DEEP_MODES or "16" in rawmode or "32" in rawmode:
        raise ValueError(
            f"{path} holds pixels deeper than 8 bits (Pillow mode {img.mode!r}, raw "
            f"{rawmode!r}); read_images returns 8-bit images and would saturate "
            f"or truncate them. Read such images with tifffile or imageio into a "
            f"float32 array (e.g. divided by 65535 for 16 bits), or save them as "
            f"FITS and use skgalvae.io.read_fits."
        )


def read_image_file(path, *, mode="RGB", size=None, resize="crop"):
    """Read one 8-bit JPEG/PNG image as (bands, h, w) uint8.

    Files with deeper pixels (16-bit PNG or TIFF, float TIFF) and FITS files
    are refused with a ``ValueError`` that says how to read them instead.

    Parameters
    ----------
    path : str or path-like
        The file.
    mode : {"RGB", "L"}, default="RGB"
        Colour or greyscale.
    size : int, default=None
        Target side, reached by ``resize``.
    resize : {"crop", "area", "bilinear"}, default="crop"
        How to reach ``size``.

    Returns
    -------
    ndarray of shape (3 or 1, h, w), uint8
    """
    path = os.fspath(path)
    check_regular_file(path)
    try:
        with Image.open(path) as img:
            _check_picture(img, path)
            img.load()  # truncated files fail here, not later
            array = np.asarray(img.convert(mode))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"Image file not found: {path}") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise OSError(f"Could not read {path} as an image: {exc}") from exc
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return np.ascontiguousarray(resize_image(array, size, resize, path))


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
        super().__init__(path_strings(paths, type(self).__name__), num_workers)
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


register_format(
    "image", (".jpg", ".jpeg", ".png"), "a JPEG/PNG cutout", ImageFileDataset
)
