"""Pictures of galaxy images: colour composites and labelled grids.

:func:`galaxy_rgb` needs only numpy and astropy; the ``plot_*`` functions import
matplotlib when called (``pip install skgalvae[plot]``). :func:`plot_traversals`
and :func:`plot_interpolation` draw the arrays of
:func:`skgalvae.inspection.latent_traversals` and
:func:`skgalvae.inspection.interpolate_galaxies`.
"""

from __future__ import annotations

import numpy as np
from astropy.visualization import make_lupton_rgb

__all__ = [
    "galaxy_rgb",
    "plot_image_grid",
    "plot_interpolation",
    "plot_traversals",
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
