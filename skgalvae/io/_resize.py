"""Bring cutouts of any size to one: centre crops and resampling."""

from __future__ import annotations

import numpy as np
import torch

RESIZE_METHODS = ("crop", "area", "bilinear")


def check_resize(size, resize):
    """Validate the ``size`` and ``resize`` arguments of the readers."""
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"size must be a positive int or None; got {size!r}.")
    if resize not in RESIZE_METHODS:
        raise ValueError(f"resize must be one of {RESIZE_METHODS}; got {resize!r}.")


def resize_image(image, size, resize, source):
    """Return ``image`` of shape (bands, h, w) as (bands, size, size).

    Parameters
    ----------
    image : ndarray of shape (bands, h, w)
        One cutout.
    size : int or None
        Target side; None keeps the image as it is.
    resize : {"crop", "area", "bilinear"}
        ``"crop"`` takes the central ``size x size`` pixels (the image must be
        at least that large); ``"area"`` resamples by area averaging, which
        keeps the mean surface brightness; ``"bilinear"`` interpolates.
    source : str
        Where the image comes from, for error messages.
    """
    if size is None:
        return image
    _, height, width = image.shape
    if resize == "crop":
        if height < size or width < size:
            raise ValueError(
                f"{source} is {height}x{width}, smaller than size={size}; a centre "
                f"crop cannot enlarge it. Use resize='area' or 'bilinear'."
            )
        top, left = (height - size) // 2, (width - size) // 2
        return image[:, top : top + size, left : left + size]
    if (height, width) == (size, size):
        return image
    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
    if resize == "area":
        out = torch.nn.functional.interpolate(tensor, size=(size, size), mode="area")
    else:
        out = torch.nn.functional.interpolate(
            tensor, size=(size, size), mode="bilinear", align_corners=False
        )
    return out[0].numpy().astype(image.dtype, copy=False)
