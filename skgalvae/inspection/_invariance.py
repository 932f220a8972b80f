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


def invariant_latents(estimator, X, *, statistics=("mean",)) -> np.ndarray:
    """Summarise a model's latents over the 8 flips and quarter turns of each image.

    A galaxy's morphology does not change when it is turned or mirrored, but
    its latents do: a VAE encodes the orientation too (and one trained with
    flips and quarter turns, as skgalvae's are by default, has learned every
    orientation). Statistics over the dihedral group D4 are the same for all
    8 views of a galaxy, so neighbours in them are alike in shape, size and
    colour rather than in position angle. The mean over the views is the
    usual invariant. It can lose what the orientation carries: an elongated
    galaxy's latents, turned a quarter, may move the opposite way, and their
    mean then looks round. Adding ``"std"``, the spread over the views (how
    much a galaxy changes when turned), keeps it. Which is better depends on
    what "alike" should mean: see the similarity guide for both measured.
    Use them for :func:`similar_galaxies`; keep plain ``transform`` where
    orientation matters (reconstruction, traversals).

    Parameters
    ----------
    estimator : fitted transformer
        A skgalvae VAE, a Pipeline ending in one, or any fitted transformer
        of square images (a fitted PCA on flattened pixels does not qualify:
        it takes vectors).
    X : array-like of shape (n, bands, side, side) or (n, side, side)
        Square images, as the estimator takes them. Read whole into memory.
    statistics : tuple of {"mean", "std"}, default=("mean",)
        What to compute over the 8 views of each latent, side by side. With
        both, search with ``standardize=True``: the halves differ in scale.

    Returns
    -------
    ndarray of shape (n, n_latent * len(statistics)), float32
        The statistics of ``estimator.transform`` over the 8 views: all the
        means, then all the standard deviations.

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
    >>> Z.shape
    (16, 2)
    >>> np.allclose(invariant_latents(vae, np.rot90(X, 1, axes=(2, 3))), Z, atol=1e-5)
    True
    """
    statistics = tuple(statistics)
    if not statistics or not set(statistics) <= {"mean", "std"}:
        raise ValueError(
            f"statistics must be a non-empty tuple of 'mean' and 'std'; got "
            f"{statistics!r}."
        )
    images = np.asarray(X)
    if images.ndim not in (3, 4) or images.shape[-1] != images.shape[-2]:
        raise ValueError(
            "invariant_latents needs square images of shape (n, bands, side, side) "
            f"or (n, side, side); X has shape {images.shape}."
        )
    views = np.stack(
        [
            np.asarray(estimator.transform(np.ascontiguousarray(view)), np.float64)
            for view in _dihedral_views(images)
        ]
    )
    summaries = {"mean": views.mean(axis=0), "std": views.std(axis=0)}
    return np.concatenate([summaries[s] for s in statistics], axis=1).astype(np.float32)
