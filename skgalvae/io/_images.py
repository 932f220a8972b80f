"""Read JPEG and PNG cutouts with Pillow."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ._resize import resize_image


def read_image_file(path, *, mode="RGB", size=None, resize="crop"):
    """Read one JPEG/PNG image as (bands, h, w) uint8.

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
    try:
        with Image.open(path) as img:
            img.load()  # truncated files fail here, not later
            array = np.asarray(img.convert(mode))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"Image file not found: {path}") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise OSError(f"Could not read {path} as an image: {exc}") from exc
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return np.ascontiguousarray(resize_image(array, size, resize, path))
