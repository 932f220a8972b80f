"""Pictures of galaxy images: colour composites, labelled grids, latent maps.

:func:`galaxy_rgb` needs only numpy and astropy; the ``plot_*`` functions import
matplotlib when called (``pip install skgalvae[plot]``). :func:`plot_traversals`
and :func:`plot_interpolation` draw the arrays of
:func:`skgalvae.inspection.latent_traversals` and
:func:`skgalvae.inspection.interpolate_galaxies`; :func:`plot_latent_map`
places galaxy thumbnails at a 2-d embedding of their latents.
"""

from __future__ import annotations

import numpy as np
from astropy.visualization import make_lupton_rgb

__all__ = [
    "embed_latents",
    "galaxy_rgb",
    "plot_image_grid",
    "plot_interpolation",
    "plot_latent_map",
    "plot_traversals",
    "thumbnail_rows",
]


def galaxy_rgb(
    images,
    *,
    stretch: float = 0.5,
    Q: float = 8.0,
    minimum=0.0,
    per_image: bool = True,
):
    """Colour composites of (g, r, z) images with the Lupton et al. (2004) asinh.

    The z band goes to red, r to green, g to blue. Channel-last float RGB in
    [0, 1], ready for ``imshow``. Single-band images are shown in grey.

    Parameters
    ----------
    images : array-like of shape (n, bands, h, w) or (bands, h, w)
        Images in linear flux units (e.g. nanomaggies), or already stretched.
    stretch : float, default=0.5
        Linear stretch of the asinh (``astropy.visualization.make_lupton_rgb``).
    Q : float, default=8.0
        Asinh softening.
    minimum : float, default=0.0
        Value mapped to black.
    per_image : bool, default=True
        Divide each image by its 99.5th percentile first, so that images of
        any pixel scale or flux unit get the same look. False applies
        ``stretch`` and ``Q`` to the values as they are.

    Returns
    -------
    ndarray of shape (n, h, w, 3) or (h, w, 3)
        RGB images, float in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.plotting import galaxy_rgb
    >>> galaxy_rgb(np.ones((2, 3, 8, 8))).shape
    (2, 8, 8, 3)
    """
    images = np.asarray(images, dtype=np.float64)
    single = images.ndim == 3
    if single:
        images = images[None]
    if images.ndim != 4:
        raise ValueError(
            "images must have shape (n, bands, h, w) or (bands, h, w); got "
            f"{images.shape}."
        )
    if per_image:
        scale = np.percentile(images.reshape(len(images), -1), 99.5, axis=1)
        images = images / np.where(scale > 0, scale, 1.0)[:, None, None, None]
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    elif images.shape[1] != 3:
        raise ValueError(
            f"galaxy_rgb needs 1 or 3 bands (g, r, z); got {images.shape[1]}."
        )
    # Black pixels have zero intensity: astropy divides 0 by 0 there, then
    # discards the result.
    with np.errstate(divide="ignore", invalid="ignore"):
        rgb = [
            make_lupton_rgb(im[2], im[1], im[0], minimum=minimum, stretch=stretch, Q=Q)
            for im in images
        ]
    rgb = np.stack(rgb).astype(np.float64) / 255.0
    return rgb[0] if single else rgb


def _label_width(fig, labels) -> float:
    """Inches the widest of the row labels takes, as the figure will draw it."""
    if not labels:
        return 0.0
    renderer = fig.canvas.get_renderer()
    return max(label.get_window_extent(renderer).width for label in labels) / fig.dpi


def plot_image_grid(
    rows, *, row_labels=None, column_labels=None, panel_size: float = 1.3, **rgb
):
    """Plot a grid of galaxy images, one row per group.

    Parameters
    ----------
    rows : sequence of array-like of shape (n_columns, bands, h, w)
        Images per row; rows may be shorter than the longest (blank panels).
    row_labels : sequence of str, default=None
        Text at the left of each row.
    column_labels : sequence of str, default=None
        Titles over the columns.
    panel_size : float, default=1.3
        Inches per panel.
    **rgb
        Passed to :func:`galaxy_rgb`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    n_rows = len(rows)
    n_cols = max(len(r) for r in rows)
    title_space = 0.35 if column_labels is not None else 0.05  # inches
    height = panel_size * n_rows + title_space
    width = panel_size * n_cols + 0.1
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, height), squeeze=False)
    for i, images in enumerate(rows):
        colour = galaxy_rgb(images, **rgb) if len(images) else []
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(colour):
                ax.imshow(colour[j], origin="lower")
            else:
                ax.axis("off")
        if row_labels is not None:
            axes[i, 0].set_ylabel(row_labels[i], rotation=0, ha="right", va="center")
    if column_labels is not None:
        for j, label in enumerate(column_labels[:n_cols]):
            axes[0, j].set_title(label, fontsize=9)
    # Widen the figure by exactly what the row labels take, so that none is
    # cut off and no empty margin is left (text size is in inches).
    labels = [ax.yaxis.label for ax in axes[:, 0]] if row_labels is not None else []
    label_space = _label_width(fig, labels) + 0.12  # the labels' padding
    width += label_space
    fig.set_size_inches(width, height)
    fig.subplots_adjust(
        wspace=0.03,
        hspace=0.03,
        left=label_space / width,
        right=1 - 0.05 / width,
        top=1 - title_space / height,
        bottom=0.01,
    )
    return fig


def plot_traversals(traversals, *, panel_size: float = 1.0, **rgb):
    """Plot latent traversals: one row per latent, one column per step.

    Parameters
    ----------
    traversals : Bunch
        The result of :func:`skgalvae.inspection.latent_traversals`.
    panel_size : float, default=1.0
        Inches per panel.
    **rgb
        Passed to :func:`galaxy_rgb`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return plot_image_grid(
        list(traversals.images),
        row_labels=[f"z{d}" for d in traversals.dims],
        column_labels=[f"{s:+.1f}σ" for s in traversals.steps],
        panel_size=panel_size,
        **rgb,
    )


def plot_interpolation(path, *, panel_size: float = 1.0, **rgb):
    """Plot an interpolation between two galaxies as one row.

    Parameters
    ----------
    path : Bunch
        The result of :func:`skgalvae.inspection.interpolate_galaxies`.
    panel_size : float, default=1.0
        Inches per panel.
    **rgb
        Passed to :func:`galaxy_rgb`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return plot_image_grid(
        [path.images],
        column_labels=[f"t={t:.2f}" for t in path.t],
        panel_size=panel_size,
        **rgb,
    )


#: The 2-d embeddings :func:`embed_latents` makes.
EMBEDDINGS = ("tsne", "umap", "pca")


def embed_latents(latents, method: str = "tsne", *, random_state=0):
    """Embed latent vectors in 2-d for a picture.

    Parameters
    ----------
    latents : array-like of shape (n_galaxies, n_latent)
        Latents, e.g. ``VAETransformer.transform`` output.
    method : {"tsne", "umap", "pca"}, default="tsne"
        scikit-learn's t-SNE (perplexity 30, or less for few galaxies), UMAP
        (needs ``umap-learn``), or the first two principal components.
    random_state : int or None, default=0
        Seed of t-SNE and UMAP.

    Returns
    -------
    ndarray of shape (n_galaxies, 2)
    """
    Z = np.asarray(latents, dtype=np.float64)
    if Z.ndim != 2 or len(Z) < 3 or not np.isfinite(Z).all():
        raise ValueError(
            f"latents must be finite, of shape (n_galaxies >= 3, n_latent); got "
            f"shape {Z.shape}."
        )
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, (len(Z) - 1) / 3)
        return TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=random_state
        ).fit_transform(Z)
    if method == "umap":
        try:
            from umap import UMAP
        except ImportError:
            raise ImportError(
                "method='umap' needs umap-learn: pip install 'skgalvae[umap]' (or use "
                "method='tsne')."
            ) from None
        return UMAP(n_components=2, random_state=random_state).fit_transform(Z)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2).fit_transform(Z)
    raise ValueError(f"method must be one of {EMBEDDINGS}; got {method!r}.")


def thumbnail_rows(embedding, n_thumbnails: int = 225):
    """Rows to show as thumbnails on a map: at most one per cell of a grid.

    The map's extent is cut into a square grid of about ``n_thumbnails``
    cells; in each cell that holds galaxies the one nearest its centre is
    chosen, so thumbnails never overlap and every populated region shows;
    each thumbnail goes at its cell's centre.

    Parameters
    ----------
    embedding : array-like of shape (n_galaxies, 2)
        The 2-d positions.
    n_thumbnails : int, default=225
        The most thumbnails (the grid has ``floor(sqrt(n))`` cells a side).

    Returns
    -------
    rows : ndarray of int
        Chosen rows, in no particular order.
    centres : ndarray of shape (len(rows), 2)
        The centre of each chosen row's cell, where its thumbnail goes.
    cell : float
        Side of a grid cell, in the embedding's units (the thumbnails' size).
    """
    xy = np.asarray(embedding, dtype=np.float64)
    side = max(int(np.sqrt(n_thumbnails)), 1)
    low, high = xy.min(axis=0), xy.max(axis=0)
    cell = float(max((high - low).max(), 1e-12) / side)
    index = np.minimum(((xy - low) / cell).astype(int), side - 1)
    centres = low + (index + 0.5) * cell
    distance = np.linalg.norm(xy - centres, axis=1)
    keys = index[:, 0] * side + index[:, 1]
    order = np.lexsort((distance, keys))  # by cell, nearest the centre first
    first = np.ones(len(order), dtype=bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    rows = order[first]
    return rows, centres[rows], cell


def plot_latent_map(
    images,
    latents,
    *,
    labels=None,
    method: str = "tsne",
    n_thumbnails: int = 225,
    random_state=0,
    figsize=(8.0, 8.0),
    **rgb,
):
    """Place galaxy thumbnails at a 2-d embedding of their latents.

    Every galaxy is a point; a selection of them (one per cell of a grid
    over the map, see :func:`thumbnail_rows`) is drawn as its image, framed
    in its label's colour when ``labels`` are given. The picture shows what
    the latent space has learned: similar galaxies should sit together.

    Parameters
    ----------
    images : array-like of shape (n_galaxies, bands, h, w)
        The galaxies, in the rows of ``latents``.
    latents : array-like of shape (n_galaxies, n_latent)
        Their latents; with two columns, the map's positions as they are.
    labels : array-like of shape (n_galaxies,), default=None
        A class per galaxy (e.g. Galaxy Zoo's), for colours and a legend.
    method : {"tsne", "umap", "pca"}, default="tsne"
        The embedding, as for :func:`embed_latents`.
    n_thumbnails : int, default=225
        The most thumbnails drawn.
    random_state : int or None, default=0
        Seed of the embedding.
    figsize : tuple of float, default=(8.0, 8.0)
        Inches at most; the height follows the map's shape.
    **rgb
        Passed to :func:`galaxy_rgb`.

    Returns
    -------
    matplotlib.figure.Figure
        With ``embedding`` (the positions) and ``thumbnail_rows`` (the rows
        drawn) as attributes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    images = np.asarray(images)
    Z = np.asarray(latents, dtype=np.float64)
    if images.ndim != 4 or Z.ndim != 2 or len(images) != len(Z):
        raise ValueError(
            f"images (n, bands, h, w) and latents (n, n_latent) must hold the "
            f"same galaxies; got shapes {images.shape} and {Z.shape}."
        )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(Z),):
            raise ValueError(
                f"labels must hold one class per galaxy ({len(Z)}); got shape "
                f"{labels.shape}."
            )
    xy = Z if Z.shape[1] == 2 else embed_latents(Z, method, random_state=random_state)
    rows, centres, cell = thumbnail_rows(xy, n_thumbnails)
    span = np.ptp(xy, axis=0) + 2 * cell
    # The map's own shape, within figsize's width (no empty bands).
    height = figsize[0] * float(np.clip(span[1] / span[0], 0.5, 1.5))
    fig, ax = plt.subplots(figsize=(figsize[0], min(height, figsize[1])))
    names = None if labels is None else labels.tolist()  # plain Python values
    classes = [None] if labels is None else sorted(set(names))
    colours = {name: f"C{i % 10}" for i, name in enumerate(classes)}
    for name in classes:
        where = slice(None) if name is None else labels == name
        count = len(xy) if name is None else int(where.sum())
        colour = "0.6" if name is None else colours[name]
        label = None if name is None else f"{name} ({count})"
        ax.scatter(*xy[where].T, s=4, color=colour, label=label, zorder=1)
    thumbnails = galaxy_rgb(images[rows], **rgb)
    half = 0.47 * cell
    # Each thumbnail fills its grid cell (it stands for the galaxies there).
    for row, (x, y), picture in zip(rows, centres, thumbnails, strict=True):
        extent = (x - half, x + half, y - half, y + half)
        ax.imshow(picture, extent=extent, origin="lower", zorder=2)
        if labels is not None:
            frame = Rectangle(
                (x - half, y - half),
                2 * half,
                2 * half,
                fill=False,
                linewidth=1.2,
                edgecolor=colours[names[row]],
                zorder=3,
            )
            ax.add_patch(frame)
    margin = cell
    ax.set_xlim(xy[:, 0].min() - margin, xy[:, 0].max() + margin)
    ax.set_ylim(xy[:, 1].min() - margin, xy[:, 1].max() + margin)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is not None:  # beside the map, over no thumbnail
        ax.legend(markerscale=3, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    fig.embedding = xy
    fig.thumbnail_rows = rows
    return fig
