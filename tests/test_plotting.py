"""Colour composites and image grids."""

import numpy as np
import pytest

from skgalvae.datasets import make_galaxies
from skgalvae.plotting import galaxy_rgb, plot_image_grid


def test_galaxy_rgb_maps_z_r_g_to_red_green_blue():
    images = np.zeros((2, 3, 16, 16), dtype=np.float32)
    images[0, 2] = 1.0  # z only: red
    images[1, 0] = 1.0  # g only: blue
    rgb = galaxy_rgb(images)
    assert rgb.shape == (2, 16, 16, 3) and 0 <= rgb.min() and rgb.max() <= 1
    assert rgb[0, ..., 0].mean() > 0.5 and rgb[0, ..., 2].max() == 0
    assert rgb[1, ..., 2].mean() > 0.5 and rgb[1, ..., 0].max() == 0
    assert galaxy_rgb(images[0]).shape == (16, 16, 3)
    grey = galaxy_rgb(images[:, :1] + 1)
    np.testing.assert_allclose(grey[..., 0], grey[..., 1])


def test_per_image_scaling_makes_units_irrelevant():
    images = make_galaxies(3, random_state=0).images
    np.testing.assert_allclose(galaxy_rgb(images), galaxy_rgb(1000 * images), atol=1e-6)
    with pytest.raises(ValueError, match="needs 1 or 3 bands"):
        galaxy_rgb(np.ones((1, 2, 8, 8)))
    with pytest.raises(ValueError, match=r"\(n, bands, h, w\)"):
        galaxy_rgb(np.ones((8, 8)))


def test_plot_image_grid_layout():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    images = make_galaxies(5, random_state=0).images
    fig = plot_image_grid(
        [images[:3], images[3:]], row_labels=["a", "b"], column_labels=["x", "y", "z"]
    )
    axes = np.array(fig.axes).reshape(2, 3)
    assert axes[0, 0].get_ylabel() == "a" and axes[0, 2].get_title() == "z"
    assert len(axes[0, 0].images) == 1 and not axes[1, 2].axison  # blank panel


@pytest.mark.parametrize("label", ["x", "how_rounded: in-between", "BASS+MzLS", "WWW"])
def test_row_labels_fit_the_figure_without_a_wide_margin(label):
    pytest.importorskip("matplotlib")
    images = np.random.default_rng(0).random((4, 3, 16, 16))
    fig = plot_image_grid([images, images], row_labels=[label, "star / defect"])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    left_edge = min(
        ax.yaxis.label.get_window_extent(renderer).x0 for ax in fig.axes[::4]
    )
    panels_start = fig.axes[0].get_window_extent(renderer).x0
    assert left_edge >= 0, "a row label is cut off at the left edge"
    # The margin is as wide as the labels need, give or take half an inch.
    assert left_edge < 0.5 * fig.dpi
    assert panels_start > 0
