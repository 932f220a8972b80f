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
