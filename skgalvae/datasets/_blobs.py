"""Smooth multi-band blobs: a tiny labelled stand-in for galaxy images."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch, check_random_state

BLOB_CLASSES = ("round", "elongated", "double")


def _gaussian(yy, xx, cy, cx, sigma_major, axis_ratio, angle):
    """Elliptical Gaussians; every parameter has shape (n, 1, 1)."""
    dy, dx = yy - cy, xx - cx
    cos, sin = np.cos(angle), np.sin(angle)
    u = (dx * cos + dy * sin) / sigma_major
    v = (-dx * sin + dy * cos) / (sigma_major * axis_ratio)
    return np.exp(-0.5 * (u * u + v * v))


def make_blobs_images(
    n_samples: int = 300,
    *,
    image_size: int = 64,
    n_bands: int = 3,
    noise: float = 0.02,
    random_state=None,
) -> Bunch:
    """Generate smooth, labelled multi-band blob images.

    Three classes of equal probability: a ``round`` blob, an ``elongated``
    (axis ratio 0.2-0.4, random angle) blob, and a ``double`` of two blobs.
    Each band scales the profile by its own amplitude, so colours vary, and
    Gaussian noise is added. Pixel values lie around [0, 1] and may be slightly
    negative through the noise.

    Parameters
    ----------
    n_samples : int, default=300
        Number of images.
    image_size : int, default=64
        Side of the square images.
    n_bands : int, default=3
        Number of bands.
    noise : float, default=0.02
        Standard deviation of the additive Gaussian noise.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    Bunch
        ``images`` float32 (n_samples, n_bands, image_size, image_size),
        ``target`` int (n_samples,) and ``target_names``.

    Examples
    --------
    >>> from skgalvae.datasets import make_blobs_images
    >>> data = make_blobs_images(10, random_state=0)
    >>> data.images.shape, data.target_names
    ((10, 3, 64, 64), ('round', 'elongated', 'double'))
    """
    if n_samples < 1 or image_size < 1 or n_bands < 1:
        raise ValueError(
            f"n_samples, image_size and n_bands must be positive; got {n_samples}, "
            f"{image_size}, {n_bands}."
        )
    rng = check_random_state(random_state)
    n = n_samples
    target = rng.randint(len(BLOB_CLASSES), size=n)
    col = lambda a: np.asarray(a, dtype=np.float64).reshape(n, 1, 1)  # noqa: E731
    yy, xx = np.mgrid[0:image_size, 0:image_size].astype(np.float64)
    yy, xx = yy[None], xx[None]
    half = image_size / 2
    size = col(rng.uniform(0.06, 0.14, n) * image_size)
    centre_y = col(half + rng.normal(0, 0.03 * image_size, n))
    centre_x = col(half + rng.normal(0, 0.03 * image_size, n))
    angle = col(rng.uniform(0, np.pi, n))
    ratio = col(
        np.where(target == 1, rng.uniform(0.2, 0.4, n), rng.uniform(0.8, 1.0, n))
    )

    profile = _gaussian(yy, xx, centre_y, centre_x, size, ratio, angle)
    # A second blob, on for "double" only, offset by 2.2-3 sizes along the
    # major axis so the pair stays resolved.
    offset = size * col(rng.uniform(2.2, 3.0, n))
    second = _gaussian(
        yy,
        xx,
        centre_y + offset * np.sin(angle),
        centre_x + offset * np.cos(angle),
        size * 0.8,
        ratio,
        angle,
    )
    profile = profile + col(target == 2) * 0.8 * second

    amplitude = rng.uniform(0.5, 1.0, (n, n_bands, 1, 1))
    images = amplitude * profile[:, None]
    images += rng.normal(0.0, noise, images.shape)
    return Bunch(
        images=images.astype(np.float32),
        target=target,
        target_names=BLOB_CLASSES,
    )
