"""latent_correlations, latent_traversals, interpolate_galaxies and their plots."""

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from scipy import stats
from sklearn.pipeline import make_pipeline

from skgalvae.inspection import (
    interpolate_galaxies,
    latent_correlations,
    latent_traversals,
)
from skgalvae.preprocessing import MTFStretch

# ------------------------------------------------------------- correlations


def _latents_and_properties(n=300, seed=0):
    rng = np.random.default_rng(seed)
    size = rng.lognormal(size=n)
    bulge = rng.uniform(size=n)
    Z = np.column_stack(
        [
            np.log(size),  # monotonic in size, not linear
            2.0 * bulge + 0.01 * rng.normal(size=n),  # linear in bulge
            rng.normal(size=n),  # unrelated
        ]
    )
    return Z, pd.DataFrame({"size": size, "bulge_fraction": bulge})


def test_correlations_find_the_related_latent_and_match_scipy():
    Z, props = _latents_and_properties()
    table = latent_correlations(Z, props)
    assert list(table.columns) == [
        "latent",
        "property",
        "n",
        "pearson_r",
        "pearson_p",
        "spearman_rho",
        "spearman_p",
    ]
    assert len(table) == 3 * 2
    assert (table["n"] == 300).all()
    # Strongest first: the two built-in relations lead the table.
    top = set(zip(table["latent"][:2], table["property"][:2], strict=True))
    assert top == {("vae0", "size"), ("vae1", "bulge_fraction")}
    by_pair = table.set_index(["latent", "property"])
    assert by_pair.loc[("vae0", "size"), "spearman_rho"] == pytest.approx(1.0)
    # Monotonic but curved: Pearson sees less of it than Spearman.
    assert by_pair.loc[("vae0", "size"), "pearson_r"] < 0.95
    assert by_pair.loc[("vae1", "bulge_fraction"), "pearson_r"] > 0.99
    assert by_pair.loc[("vae2", "size"), "spearman_p"] > 1e-3
    for (latent, prop), row in by_pair.iterrows():
        z = Z[:, int(latent[3:])]
        r, p = stats.pearsonr(z, props[prop])
        rho, p_rho = stats.spearmanr(z, props[prop])
        assert row["pearson_r"] == pytest.approx(r)
        assert row["pearson_p"] == pytest.approx(p)
        assert row["spearman_rho"] == pytest.approx(rho)
        assert row["spearman_p"] == pytest.approx(p_rho)


def test_correlations_sort_and_names():
    Z, props = _latents_and_properties()
    unsorted = latent_correlations(Z, props, sort_by=None)
    assert list(unsorted["latent"]) == ["vae0", "vae0", "vae1", "vae1", "vae2", "vae2"]
    by_pearson = latent_correlations(Z, props, sort_by="pearson")
    assert np.all(np.diff(by_pearson["pearson_r"].abs()) <= 0)
    named = latent_correlations(
        pd.DataFrame(Z, columns=["a", "b", "c"]), props, sort_by=None
    )
    assert list(named["latent"].unique()) == ["a", "b", "c"]
    explicit = latent_correlations(Z, props, latent_names=["x", "y", "z"])
    assert set(explicit["latent"]) == {"x", "y", "z"}


@pytest.mark.parametrize(
    "convert",
    [
        lambda df: Table.from_pandas(df),
        lambda df: {k: df[k].to_numpy() for k in df},
        lambda df: df.to_records(index=False),
        lambda df: df["size"],
    ],
    ids=["astropy", "dict", "structured", "series"],
)
def test_correlations_accept_table_likes(convert):
    Z, props = _latents_and_properties()
    expected = latent_correlations(Z, props, sort_by=None)
    got = latent_correlations(Z, convert(props), sort_by=None)
    merged = got.merge(expected, on=["latent", "property"])
    assert len(merged) == len(got)
    np.testing.assert_allclose(merged["spearman_rho_x"], merged["spearman_rho_y"])


def test_correlations_bool_and_constant_columns():
    Z, props = _latents_and_properties()
    props["star"] = Z[:, 2] > 1.0
    props["flat"] = 3.0
    table = latent_correlations(Z, props).set_index(["latent", "property"])
    assert table.loc[("vae2", "star"), "spearman_rho"] > 0.5
    assert table.loc[("vae0", "flat")].drop("n").isna().all()
    assert table.iloc[-1].name[1] == "flat"  # undefined pairs sort last


def test_correlations_missing_values():
    Z, props = _latents_and_properties()
    props.loc[7, "bulge_fraction"] = np.nan
    with pytest.raises(ValueError, match=r"'bulge_fraction' has 1 NaN .* row 7"):
        latent_correlations(Z, props)
    table = latent_correlations(Z, props, nan_policy="omit")
    n = table.set_index("property")["n"]
    assert set(n["bulge_fraction"]) == {299}
    assert set(n["size"]) == {300}


@pytest.mark.parametrize(
    "Z, props, kwargs, error, match",
    [
        (np.zeros((5, 2)), {"a": np.arange(4)}, {}, ValueError, "4 rows, but Z has 5"),
        (np.zeros((5, 2)), np.zeros((5, 2)), {}, TypeError, "has a name"),
        (np.zeros(5), {"a": np.arange(5)}, {}, ValueError, r"shape \(5,\)"),
        (
            np.zeros((5, 2)),
            {"m": np.array(list("abcde"))},
            {},
            TypeError,
            "column 'm' has dtype",
        ),
        (
            np.zeros((5, 2)),
            {"a": np.arange(5)},
            {"latent_names": ["x"]},
            ValueError,
            "1 names, but Z has 2",
        ),
        (
            np.zeros((5, 2)),
            {"a": np.arange(5)},
            {"nan_policy": "x"},
            ValueError,
            "nan_policy",
        ),
        (
            np.zeros((5, 2)),
            {"a": np.arange(5)},
            {"sort_by": "x"},
            ValueError,
            "sort_by",
        ),
    ],
)
def test_correlations_bad_input(Z, props, kwargs, error, match):
    with pytest.raises(error, match=match):
        latent_correlations(Z, props, **kwargs)


# ---------------------------------------------------------------- traversals


def test_traversals_vary_one_latent_from_the_reference(fitted_vae, images):
    Z = fitted_vae.transform(images)
    walk = latent_traversals(fitted_vae, Z, n_dims=2, n_steps=5, span=2.0)
    assert walk.images.shape == (2, 5, *images.shape[1:])
    assert walk.latents.shape == (2, 5, fitted_vae.n_latent)
    # The chosen latents are the two with the largest spread.
    np.testing.assert_array_equal(walk.dims, np.argsort(-Z.std(axis=0))[:2])
    np.testing.assert_allclose(walk.reference, np.median(Z, axis=0))
    np.testing.assert_allclose(walk.steps, [-2, -1, 0, 1, 2])
    for row, d in enumerate(walk.dims):
        others = np.delete(walk.latents[row], d, axis=1)
        np.testing.assert_allclose(
            others, np.delete(walk.latents[row, :1], d, 1)[[0] * 5]
        )
        expected = walk.reference[d] + walk.steps * Z[:, d].std()
        np.testing.assert_allclose(walk.latents[row, :, d], expected, rtol=1e-5)
        # The middle column is the reference galaxy itself.
        centre = fitted_vae.inverse_transform(walk.reference[None].astype(np.float32))
        np.testing.assert_allclose(walk.images[row, 2], centre[0], atol=1e-5)
        # Moving a used latent changes the picture.
        assert np.abs(walk.images[row, 0] - walk.images[row, -1]).max() > 1e-4


def test_traversals_from_the_prior_and_an_explicit_reference(fitted_vae, images):
    prior = latent_traversals(fitted_vae, n_dims=3, n_steps=3)
    np.testing.assert_array_equal(prior.dims, [0, 1, 2])
    np.testing.assert_allclose(prior.latents[1, :, 1], [-3, 0, 3])
    z0 = fitted_vae.transform(images[:1])[0]
    own = latent_traversals(
        fitted_vae, fitted_vae.transform(images), dims=[3], reference=z0
    )
    np.testing.assert_allclose(own.reference, z0)
    np.testing.assert_allclose(
        own.images[0, 3], fitted_vae.reconstruct(images[:1])[0], atol=1e-5
    )
    mean = latent_traversals(fitted_vae, fitted_vae.transform(images), reference="mean")
    np.testing.assert_allclose(
        mean.reference, fitted_vae.transform(images).mean(0), rtol=1e-5
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dims=[4]), "dims holds 4, but the VAE has n_latent=4"),
        (dict(dims=[]), "non-empty"),
        (dict(reference=np.zeros(3)), r"shape \(4,\); got shape \(3,\)"),
        (dict(reference="mode"), "'median', 'mean'"),
        (dict(n_steps=1), "n_steps"),
        (dict(span=0), "span"),
    ],
)
def test_traversals_bad_input(fitted_vae, kwargs, match):
    with pytest.raises(ValueError, match=match):
        latent_traversals(fitted_vae, **kwargs)


def test_traversals_check_latents_and_estimator(fitted_vae, images):
    with pytest.raises(ValueError, match=r"Z must be latent vectors of shape"):
        latent_traversals(fitted_vae, np.zeros((10, 3)))
    pipe = make_pipeline(MTFStretch(), fitted_vae)
    with pytest.raises(TypeError, match=r"pipeline\[-1\]"):
        latent_traversals(pipe)


# -------------------------------------------------------------- interpolation


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_runs_from_one_reconstruction_to_the_other(
    fitted_vae, images, method
):
    path = interpolate_galaxies(
        fitted_vae, images[0], images[1], n_steps=6, method=method
    )
    assert path.images.shape == (6, *images.shape[1:])
    ends = fitted_vae.transform(images[:2])
    np.testing.assert_allclose(path.latents[[0, -1]], ends, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        path.images[[0, -1]], fitted_vae.reconstruct(images[:2]), atol=1e-5
    )
    np.testing.assert_allclose(path.t, np.linspace(0, 1, 6))
    # The path moves steadily: each step is the same angle (slerp) or length.
    steps = np.linalg.norm(np.diff(path.latents, axis=0), axis=1)
    if method == "linear":
        np.testing.assert_allclose(steps, steps[0], rtol=1e-6)


def test_slerp_keeps_the_norm_of_equal_norm_ends(fitted_vae):
    from skgalvae.inspection._generation import _slerp

    z0, z1 = np.array([3.0, 0.0, 0.0]), np.array([0.0, 3.0, 0.0])
    path = _slerp(z0, z1, np.linspace(0, 1, 5))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0)
    linear_mid = np.linalg.norm((z0 + z1) / 2)
    assert linear_mid < 2.2  # the straight line cuts inside the sphere
    np.testing.assert_allclose(_slerp(z0, z0, np.array([0.5])), [z0])


def test_interpolation_bad_input(fitted_vae, images):
    with pytest.raises(ValueError, match="same shape"):
        interpolate_galaxies(fitted_vae, images[0], images[0, :2])
    with pytest.raises(ValueError, match="method"):
        interpolate_galaxies(fitted_vae, images[0], images[1], method="cubic")
    with pytest.raises(ValueError, match="n_steps"):
        interpolate_galaxies(fitted_vae, images[0], images[1], n_steps=1)


# ------------------------------------------------------------------- plotting


def test_plot_helpers_draw_one_panel_per_image(fitted_vae, images):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skgalvae.plotting import plot_interpolation, plot_traversals

    walk = latent_traversals(fitted_vae, n_dims=2, n_steps=4)
    fig = plot_traversals(walk)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 8
    assert fig.axes[0].get_ylabel() == "z0"
    assert fig.axes[0].get_title() == "-3.0σ"
    path = interpolate_galaxies(fitted_vae, images[0], images[1], n_steps=5)
    fig = plot_interpolation(path)
    assert len([ax for ax in fig.axes if ax.images]) == 5
    assert fig.axes[-1].get_title() == "t=1.00"
