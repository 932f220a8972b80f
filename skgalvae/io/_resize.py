"""Bring cutouts of any size to one: centre crops and resampling."""

from __future__ import annotations

import numpy as np

RESIZE_METHODS = ("crop", "area", "bilinear")


def check_resize(size, resize):
    """Validate the ``size`` and ``resize`` arguments of the readers."""
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"size must be a positive int or None; got {size!r}.")
    if resize not in RESIZE_METHODS:
        raise ValueError(f"resize must be one of {RESIZE_METHODS}; got {resize!r}.")


def resize_images(images, size, resize, source):
    """Return ``images`` of shape (n, bands, h, w) as (n, bands, size, size).

    Parameters
    ----------
    images : ndarray of shape (n, bands, h, w)
        Cutouts of one size.
    size : int or None
        Target side; None keeps the images as they are.
    resize : {"crop", "area", "bilinear"}
        ``"crop"`` takes the central ``size x size`` pixels (the images must be
        at least that large); ``"area"`` resamples by area averaging, which
        keeps the mean surface brightness; ``"bilinear"`` interpolates (with an
        anti-aliasing filter when shrinking).
        Resampled uint8 images are rounded back to uint8 (area averages and
        bilinear interpolants of 0-255 values stay within 0-255).
    source : str
        Where the images come from, for error messages.
    """
    if size is None:
        return images
    height, width = images.shape[-2:]
    if resize == "crop":
        if height < size or width < size:
            raise ValueError(
                f"{source} is {height}x{width}, smaller than size={size}; a centre "
                f"crop cannot enlarge it. Use resize='area' or 'bilinear'."
            )
        top, left = (height - size) // 2, (width - size) // 2
        return images[..., top : top + size, left : left + size]
    if (height, width) == (size, size):
        return images
    import torch  # here: reading cutouts at their size needs no torch

    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    # Bilinear shrinking filters first (antialias), or fine structure aliases.
    options = {} if resize == "area" else {"align_corners": False, "antialias": True}
    out = torch.nn.functional.interpolate(
        tensor, size=(size, size), mode=resize, **options
    ).numpy()
    if images.dtype == np.uint8:
        return np.rint(out).astype(np.uint8)
    return out.astype(images.dtype, copy=False)


def resize_image(image, size, resize, source):
    """Return one ``image`` of shape (bands, h, w) as (bands, size, size).

    See :func:`resize_images` for the methods.
    """
    return resize_images(image[None], size, resize, source)[0]
