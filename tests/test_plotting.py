"""Colour composites, image grids and latent maps."""

import numpy as np
import pytest

from skgalvae.datasets import make_galaxies
from skgalvae.plotting import galaxy_rgb, plot_image_grid

plt = pytest.importorskip("matplotlib.pyplot")


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


def test_latent_map_places_one_thumbnail_per_cell():
    from skgalvae.plotting import plot_latent_map, thumbnail_rows

    rng = np.random.default_rng(0)
    images = rng.random((120, 3, 16, 16))
    # Two clusters in latent space, labelled by cluster.
    latents = np.concatenate([rng.normal(0, 1, (60, 4)), rng.normal(8, 1, (60, 4))])
    labels = np.array(["a"] * 60 + ["b"] * 60)
    fig = plot_latent_map(images, latents, labels=labels, method="pca", n_thumbnails=49)
    rows = fig.thumbnail_rows
    assert 2 <= len(rows) <= 49 and len(set(rows)) == len(rows)
    ax = fig.axes[0]
    assert len(ax.images) == len(rows)  # one picture per chosen galaxy
    assert len(ax.patches) == len(rows)  # framed in its label's colour
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (60)", "b (60)"]
    # No two thumbnails share a cell: their centres are a cell apart at least.
    _, centres, cell = thumbnail_rows(fig.embedding, 49)
    gaps = np.abs(centres[:, None] - centres[None]).max(axis=-1)
    assert gaps[~np.eye(len(centres), dtype=bool)].min() >= cell * 0.999
    plt.close(fig)


def test_latent_map_takes_a_2d_embedding_as_it_is_and_checks_its_input():
    from skgalvae.plotting import embed_latents, plot_latent_map

    rng = np.random.default_rng(1)
    images, xy = rng.random((30, 1, 8, 8)), rng.normal(size=(30, 2))
    fig = plot_latent_map(images, xy, n_thumbnails=9)
    np.testing.assert_array_equal(fig.embedding, xy)
    plt.close(fig)
    with pytest.raises(ValueError, match="same galaxies"):
        plot_latent_map(images[:10], xy)
    with pytest.raises(ValueError, match="one class per galaxy"):
        plot_latent_map(images, xy, labels=["a"] * 3)
    with pytest.raises(ValueError, match="method must be one of"):
        embed_latents(rng.normal(size=(10, 4)), "isomap")
    assert embed_latents(rng.normal(size=(12, 4)), "tsne").shape == (12, 2)


def test_latent_map_labels_of_any_array_kind():
    from skgalvae.plotting import plot_latent_map

    rng = np.random.default_rng(2)
    images, xy = rng.random((20, 1, 8, 8)), rng.normal(size=(20, 2))
    for labels in (
        np.array(["a", "b"] * 10, dtype=object),
        ["a", "b"] * 10,
        np.arange(20) % 3,
    ):
        fig = plot_latent_map(images, xy, labels=labels, n_thumbnails=9)
        assert len(fig.axes[0].patches) == len(fig.thumbnail_rows)
        plt.close(fig)
