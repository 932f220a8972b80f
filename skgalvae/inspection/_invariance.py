"""Latents that do not depend on how a galaxy happens to lie on the sky."""

from __future__ import annotations

import numpy as np

__all__ = ["invariant_latents"]


def _dihedral_views(images):
    """Yield the 8 orientations of square images: 4 quarter turns, each mirrored."""
    for turns in range(4):
        turned = np.rot90(images, turns, axes=(-2, -1))
        yield turned
        yield turned[..., ::-1]


def invariant_latents(estimator, X) -> np.ndarray:
    """Average a model's latents over the 8 flips and quarter turns of each image.

    A galaxy's morphology does not change when it is turned or mirrored, but
    its latents do: a VAE encodes the orientation too (and one trained with
    flips and quarter turns, as skgalvae's are by default, has learned every
    orientation). The mean over the dihedral group D4 is the same for all 8
    views of a galaxy, so neighbours in it are alike in shape, size and
    colour rather than in position angle. Use it for
    :func:`similar_galaxies`; keep plain ``transform`` where orientation
    matters (reconstruction, traversals).

    Parameters
    ----------
    estimator : fitted transformer
        A skgalvae VAE, a Pipeline ending in one, or any fitted transformer
        of square images (a fitted PCA on flattened pixels does not qualify:
        it takes vectors).
    X : array-like of shape (n, bands, side, side) or (n, side, side)
        Square images, as the estimator takes them. Read whole into memory.

    Returns
    -------
    ndarray of shape (n, n_latent), float32
        The mean of ``estimator.transform`` over the 8 views.

    Raises
    ------
    ValueError
        If the images are not square.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import VAETransformer
    >>> from skgalvae.inspection import invariant_latents
    >>> X = np.random.default_rng(0).random((16, 1, 16, 16), dtype=np.float32)
    >>> vae = VAETransformer(n_latent=2, hidden_dims=(8,), max_epochs=1).fit(X)
    >>> Z = invariant_latents(vae, X)
    >>> np.allclose(invariant_latents(vae, np.rot90(X, 1, axes=(2, 3))), Z, atol=1e-5)
    True
    """
    images = np.asarray(X)
    if images.ndim not in (3, 4) or images.shape[-1] != images.shape[-2]:
        raise ValueError(
            "invariant_latents needs square images of shape (n, bands, side, side) "
            f"or (n, side, side); X has shape {images.shape}."
        )
    total = None
    for view in _dihedral_views(images):
        latents = np.asarray(estimator.transform(np.ascontiguousarray(view)))
        total = latents.astype(np.float64) if total is None else total + latents
    return (total / 8).astype(np.float32)
