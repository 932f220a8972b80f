"""similar_galaxies: nearest neighbours in latent space, in galaxies' terms."""

import numpy as np
import pandas as pd
import pytest

from skgalvae.inspection import similar_galaxies


@pytest.fixture
def latents():
    return np.random.default_rng(0).normal(size=(200, 5))


def test_neighbours_match_a_brute_force_search(latents):
    result = similar_galaxies(latents, [3, 17], n_neighbors=7)
    assert list(result.columns) == ["query", "rank", "row", "distance"]
    assert len(result) == 14
    for query in (3, 17):
        distance = np.linalg.norm(latents - latents[query], axis=1)
        distance[query] = np.inf  # a galaxy is not its own neighbour
        expected = np.argsort(distance)[:7]
        got = result[result["query"] == query]
        np.testing.assert_array_equal(got["row"], expected)
        np.testing.assert_array_equal(got["rank"], np.arange(1, 8))
        np.testing.assert_allclose(got["distance"], distance[expected])


def test_vectors_of_new_galaxies_can_be_queried(latents):
    new = latents[[5]] + 1e-6
    result = similar_galaxies(latents, new, n_neighbors=3)
    assert result["row"].iloc[0] == 5  # the galaxy itself is allowed here
    assert result["query"].tolist() == [0, 0, 0]
    cosine = similar_galaxies(latents, 2 * latents[[5]], 1, metric="cosine")
    assert cosine["row"].tolist() == [5]


def test_a_survey_table_gives_ids_and_keeps_unreadable_rows_out(latents):
    table = pd.DataFrame(latents, columns=[f"vae{i}" for i in range(5)])
    for i in range(5):
        table[f"vae{i}_std"] = 0.1  # not features
    table.insert(0, "id", [f"J{i:04d}" for i in range(200)])
    table["error"] = ""
    nearest = similar_galaxies(table, 0, 1)["row"].iloc[0]
    table.loc[nearest, ["vae0", "vae1", "vae2", "vae3", "vae4"]] = np.nan
    table.loc[nearest, "error"] = "non-finite values"
    result = similar_galaxies(table, 0, n_neighbors=5)
    assert nearest not in result["row"].to_numpy()
    assert result["id"].tolist() == [f"J{r:04d}" for r in result["row"]]
    with pytest.raises(ValueError, match=f"query row {nearest} has non-finite"):
        similar_galaxies(table, nearest)


@pytest.mark.parametrize(
    "query, n_neighbors, error, match",
    [
        (250, 10, IndexError, "query row 250 is outside latents' 200 rows"),
        ("a", 10, TypeError, "query must be a row position"),
        (np.zeros((1, 4)), 10, ValueError, "query vectors have 4 latents"),
        (np.full((1, 5), np.nan), 10, ValueError, "query vector 0 has non-finite"),
        (0, 200, ValueError, "only 199 other usable galaxies"),
        (0, 0, ValueError, "at least 1"),
        (0, True, TypeError, "n_neighbors must be an int"),
    ],
)
def test_bad_queries_are_named(latents, query, n_neighbors, error, match):
    with pytest.raises(error, match=match):
        similar_galaxies(latents, query, n_neighbors)


def test_latents_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"shape \(n_galaxies, n_latent\)"):
        similar_galaxies(np.zeros(10), 0)
    with pytest.raises(ValueError, match=r"column\(s\) \['name'\] are not numbers"):
        similar_galaxies(pd.DataFrame({"name": ["a", "b"], "vae0": [0.0, 1.0]}), 0)


def test_standardize_searches_latents_on_one_scale(latents):
    stretched = latents * np.array([100.0, 1, 1, 1, 1])  # latent 0 dominates
    plain = similar_galaxies(stretched, [3], n_neighbors=5)
    scaled = similar_galaxies(stretched, [3], n_neighbors=5, standardize=True)
    z = (stretched - stretched.mean(0)) / stretched.std(0)
    distance = np.linalg.norm(z - z[3], axis=1)
    distance[3] = np.inf
    np.testing.assert_array_equal(scaled["row"], np.argsort(distance)[:5])
    assert set(plain["row"]) != set(scaled["row"])
    # A vector query is scaled like the table.
    vector = similar_galaxies(stretched, stretched[[3]] + 1e-9, 6, standardize=True)
    np.testing.assert_array_equal(vector["row"].iloc[1:], scaled["row"])
    flat = latents.copy()
    flat[:, 2] = 1.0
    with pytest.raises(ValueError, match="latent 2 is the same for every galaxy"):
        similar_galaxies(flat, [0], standardize=True)


def test_invariant_latents_do_not_see_orientation():
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from skgalvae.inspection import invariant_latents

    rng = np.random.default_rng(0)
    images = rng.random((30, 2, 12, 12)).astype(np.float32)
    flatten = FunctionTransformer(lambda X: X.reshape(len(X), -1))
    model = make_pipeline(flatten, PCA(4, random_state=0)).fit(images)
    Z = invariant_latents(model, images)
    assert Z.shape == (30, 4) and Z.dtype == np.float32
    for view in (np.rot90(images, 1, axes=(2, 3)), images[..., ::-1],
                 np.swapaxes(images, 2, 3)):  # fmt: skip
        np.testing.assert_allclose(invariant_latents(model, view), Z, atol=1e-5)
    turned = np.rot90(images, 1, axes=(2, 3))
    assert np.abs(model.transform(turned) - model.transform(images)).max() > 0.1
    views = [np.rot90(images, t, axes=(2, 3)) for t in range(4)]
    views += [view[..., ::-1] for view in views]
    expected = np.mean([model.transform(view) for view in views], axis=0)
    np.testing.assert_allclose(Z, expected, atol=1e-5)
    both = invariant_latents(model, images, statistics=("mean", "std"))
    spread = np.std([model.transform(view) for view in views], axis=0)
    assert both.shape == (30, 8) and spread.max() > 0.1
    np.testing.assert_allclose(both, np.hstack([expected, spread]), atol=1e-5)
    np.testing.assert_allclose(
        invariant_latents(model, views[5], statistics=("mean", "std")), both, atol=1e-5
    )
    with pytest.raises(ValueError, match="statistics must be a non-empty tuple"):
        invariant_latents(model, images, statistics=("median",))
    with pytest.raises(ValueError, match="square images.*shape \\(30, 2, 12, 10\\)"):
        invariant_latents(model, images[..., :10])
