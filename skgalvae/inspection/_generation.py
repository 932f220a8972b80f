"""Walks through a VAE's latent space: traversals and interpolations.

Both return arrays (decoded images plus the latent points they came from);
:func:`skgalvae.plotting.plot_traversals` and
:func:`skgalvae.plotting.plot_interpolation` draw them.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

__all__ = ["interpolate_galaxies", "latent_traversals"]


def _check_vae(vae, name):
    """``vae`` must be a fitted skgalvae VAE (it has ``inverse_transform``)."""
    if not (hasattr(vae, "inverse_transform") and hasattr(vae, "n_latent")):
        raise TypeError(
            f"{name} needs a skgalvae VAE estimator (e.g. VAETransformer); got "
            f"{type(vae).__name__}. For a Pipeline, pass its last step, "
            f"pipeline[-1], and latents from pipeline.transform."
        )
    check_is_fitted(vae)


def latent_traversals(
    vae,
    Z=None,
    *,
    dims=None,
    n_dims: int = 5,
    n_steps: int = 7,
    span: float = 3.0,
    reference: str | np.ndarray = "median",
) -> Bunch:
    r"""Decode galaxies along each chosen latent, the others held fixed.

    For each dimension ``d`` of ``dims``, the latents of ``reference`` are
    copied ``n_steps`` times and ``z_d`` is set to ``reference[d] + t *
    scale[d]`` for ``t`` evenly spaced in ``[-span, span]``. ``scale`` is the
    standard deviation of each latent over ``Z`` (over the prior, 1, when
    ``Z`` is None), so the steps are in units of the data's own spread.

    Parameters
    ----------
    vae : fitted VAETransformer (or another skgalvae VAE)
        Its decoder draws the galaxies.
    Z : array-like of shape (n_samples, n_latent) or None, default=None
        Latents of a sample of galaxies, ``vae.transform(X)``, which set the
        reference point, the scale of each latent and, with ``dims=None``,
        which latents to show. ``None`` uses the prior ``N(0, I)``.
    dims : sequence of int or None, default=None
        Latents to traverse. ``None``: the ``n_dims`` with the largest spread
        over ``Z`` (the most-used ones; posterior collapse leaves unused
        latents near 0), or the first ``n_dims`` without ``Z``.
    n_dims : int, default=5
        Number of latents chosen when ``dims`` is None.
    n_steps : int, default=7
        Images per traversal; odd numbers include the reference itself.
    span : float, default=3.0
        Half-width of the traversal in standard deviations.
    reference : {"median", "mean"} or array-like, default="median"
        Point the traversals pass through: the median or mean of ``Z`` (the
        origin without ``Z``), or an explicit latent vector of shape
        ``(n_latent,)``, e.g. one galaxy's ``vae.transform(x[None])[0]``.

    Returns
    -------
    traversals : :class:`~sklearn.utils.Bunch`
        Dictionary-like, with the attributes:

        images : ndarray of shape (n_dims, n_steps, \*vae.input_shape_)
            Decoded galaxies, in the VAE's input units.
        latents : ndarray of shape (n_dims, n_steps, n_latent)
            The latent vectors that were decoded.
        dims : ndarray of shape (n_dims,)
            The traversed latents.
        steps : ndarray of shape (n_steps,)
            Offsets from the reference, in standard deviations.
        reference : ndarray of shape (n_latent,)
            The fixed point.
        scale : ndarray of shape (n_latent,)
            One standard deviation of each latent.

    See Also
    --------
    skgalvae.plotting.plot_traversals : Draws the result as a grid.
    interpolate_galaxies : Decodes the path between two galaxies.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import VAETransformer
    >>> from skgalvae.inspection import latent_traversals
    >>> X = np.random.default_rng(0).random((32, 3, 64, 64), dtype=np.float32)
    >>> vae = VAETransformer(n_latent=8, max_epochs=1, random_state=0).fit(X)
    >>> walk = latent_traversals(vae, vae.transform(X), n_dims=3, n_steps=5)
    >>> walk.images.shape
    (3, 5, 3, 64, 64)
    """
    _check_vae(vae, "latent_traversals")
    n_latent = vae.n_latent
    if not isinstance(n_steps, Integral) or n_steps < 2:
        raise ValueError(f"n_steps must be an int >= 2; got {n_steps!r}.")
    if not span > 0:
        raise ValueError(f"span must be positive; got {span!r}.")
    if Z is None:
        centre = np.zeros(n_latent)
        scale = np.ones(n_latent)
        by_spread = np.arange(n_latent)
    else:
        Z = vae._check_latents(Z, input_name="Z").astype(np.float64)
        if len(Z) < 2:
            raise ValueError(
                f"Z needs at least 2 galaxies to set a scale; got {len(Z)}."
            )
        scale = Z.std(axis=0)
        by_spread = np.argsort(-scale, kind="stable")
        scale = np.where(scale > 0, scale, 1.0)
        centre = None
    reference = _reference_point(reference, Z, centre, n_latent)
    dims = _chosen_dims(dims, n_dims, by_spread, n_latent)

    steps = np.linspace(-span, span, n_steps)
    latents = np.repeat(reference[None, None], len(dims), axis=0)
    latents = np.repeat(latents, n_steps, axis=1)
    for row, d in enumerate(dims):
        latents[row, :, d] = reference[d] + steps * scale[d]
    flat = latents.reshape(-1, n_latent).astype(np.float32)
    images = vae.inverse_transform(flat)
    return Bunch(
        images=images.reshape(len(dims), n_steps, *images.shape[1:]),
        latents=latents,
        dims=dims,
        steps=steps,
        reference=reference,
        scale=scale,
    )


def _reference_point(reference, Z, centre, n_latent):
    if isinstance(reference, str):
        if reference not in ("median", "mean"):
            raise ValueError(
                f"reference must be 'median', 'mean' or a latent vector; got "
                f"{reference!r}."
            )
        if Z is None:
            return centre
        return np.median(Z, axis=0) if reference == "median" else Z.mean(axis=0)
    point = np.asarray(reference, dtype=np.float64)
    if point.shape != (n_latent,):
        raise ValueError(
            f"reference must be a latent vector of shape ({n_latent},); got shape "
            f"{point.shape}."
        )
    if not np.isfinite(point).all():
        raise ValueError("reference has NaN or infinite values.")
    return point


def _chosen_dims(dims, n_dims, by_spread, n_latent):
    if dims is None:
        if not isinstance(n_dims, Integral) or n_dims < 1:
            raise ValueError(f"n_dims must be a positive int; got {n_dims!r}.")
        return np.asarray(by_spread[: min(n_dims, n_latent)], dtype=int)
    dims = np.asarray(dims)
    if dims.ndim != 1 or len(dims) == 0 or not np.issubdtype(dims.dtype, np.integer):
        raise ValueError(f"dims must be a non-empty sequence of ints; got {dims!r}.")
    bad = dims[(dims < 0) | (dims >= n_latent)]
    if len(bad):
        raise ValueError(
            f"dims holds {bad[0]}, but the VAE has n_latent={n_latent} latents "
            f"(0 to {n_latent - 1})."
        )
    return dims.astype(int)


def interpolate_galaxies(
    vae,
    start,
    end,
    *,
    n_steps: int = 8,
    method: str = "linear",
) -> Bunch:
    r"""Decode the path between two galaxies in latent space.

    Both galaxies are encoded to their posterior means ``z_0`` and ``z_1``,
    and the points ``z(t)`` for ``t`` evenly spaced in ``[0, 1]`` are
    decoded: the first image is ``start``'s reconstruction, the last
    ``end``'s.

    Parameters
    ----------
    vae : fitted VAETransformer (or another skgalvae VAE)
        Encodes both galaxies and decodes the path.
    start, end : array-like of one sample's shape
        The two galaxies, e.g. ``X[i]`` and ``X[j]``, in the units ``vae`` was
        fitted on (after any preprocessing step of a pipeline).
    n_steps : int, default=8
        Number of points, both ends included.
    method : {"linear", "slerp"}, default="linear"
        ``"linear"``: ``(1 - t) z_0 + t z_1``. ``"slerp"``: spherical
        interpolation (Shoemake 1985), which follows the arc between the
        ends instead of cutting through the low-density centre of a
        high-dimensional Gaussian latent space (White 2016, "Sampling
        generative networks").

    Returns
    -------
    path : :class:`~sklearn.utils.Bunch`
        Dictionary-like, with the attributes:

        images : ndarray of shape (n_steps, \*vae.input_shape_)
            Decoded galaxies along the path.
        latents : ndarray of shape (n_steps, n_latent)
            The decoded latent vectors.
        t : ndarray of shape (n_steps,)
            Position along the path, 0 at ``start`` and 1 at ``end``.

    See Also
    --------
    skgalvae.plotting.plot_interpolation : Draws the path as one row.
    latent_traversals : Varies one latent at a time.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import VAETransformer
    >>> from skgalvae.inspection import interpolate_galaxies
    >>> X = np.random.default_rng(0).random((32, 3, 64, 64), dtype=np.float32)
    >>> vae = VAETransformer(n_latent=8, max_epochs=1, random_state=0).fit(X)
    >>> interpolate_galaxies(vae, X[0], X[1], n_steps=6).images.shape
    (6, 3, 64, 64)
    """
    _check_vae(vae, "interpolate_galaxies")
    if not isinstance(n_steps, Integral) or n_steps < 2:
        raise ValueError(f"n_steps must be an int >= 2; got {n_steps!r}.")
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp'; got {method!r}.")
    ends = [np.asarray(x) for x in (start, end)]
    if ends[0].shape != ends[1].shape:
        raise ValueError(
            f"start and end must have the same shape; got {ends[0].shape} and "
            f"{ends[1].shape}."
        )
    z0, z1 = vae.transform(np.stack(ends)).astype(np.float64)
    t = np.linspace(0.0, 1.0, n_steps)
    if method == "linear":
        latents = (1 - t)[:, None] * z0 + t[:, None] * z1
    else:
        latents = _slerp(z0, z1, t)
    return Bunch(
        images=vae.inverse_transform(latents.astype(np.float32)),
        latents=latents,
        t=t,
    )


def _slerp(z0, z1, t):
    """Spherical interpolation; falls back to linear for (anti)parallel ends."""
    norms = np.linalg.norm(z0) * np.linalg.norm(z1)
    cos = np.clip(z0 @ z1 / norms, -1.0, 1.0) if norms > 0 else 1.0
    omega = np.arccos(cos)
    if np.sin(omega) < 1e-6:
        return (1 - t)[:, None] * z0 + t[:, None] * z1
    w0 = np.sin((1 - t) * omega) / np.sin(omega)
    w1 = np.sin(t * omega) / np.sin(omega)
    return w0[:, None] * z0 + w1[:, None] * z1
