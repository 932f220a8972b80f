"""similar_galaxies answers from the latents alone, or says why it cannot."""

import numpy as np
import pandas as pd
import pytest

from skgalvae.inspection import similar_galaxies


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(20, 3)), columns=["vae0", "vae1", "vae2"])
    frame.insert(0, "id", [f"g{i}" for i in range(20)])
    return frame


def test_a_joined_catalogue_column_is_not_used_as_a_latent(table):
    joined = table.assign(redshift=np.linspace(0.01, 0.2, 20))
    with pytest.raises(ValueError, match=r"column\(s\) \['redshift'\] beside"):
        similar_galaxies(joined, 0, n_neighbors=3)
    # Selecting the latents answers as the table without it does.
    expected = similar_galaxies(table, 0, n_neighbors=3)
    chosen = similar_galaxies(joined[["id", "vae0", "vae1", "vae2"]], 0, n_neighbors=3)
    pd.testing.assert_frame_equal(chosen, expected)


def test_zero_vectors_are_refused_for_cosine_distance(table):
    zero = table.copy()
    zero.loc[4, ["vae0", "vae1", "vae2"]] = 0.0
    with pytest.raises(ValueError, match="row 4 of latents is all zeros"):
        similar_galaxies(zero, 0, n_neighbors=3, metric="cosine")
    with pytest.raises(ValueError, match="a query is all zeros"):
        similar_galaxies(table, np.zeros((1, 3)), n_neighbors=3, metric="cosine")
    # Euclidean distance is defined for them.
    found = similar_galaxies(zero, 4, n_neighbors=3)
    assert len(found) == 3


def test_ids_kept_as_the_index_are_carried_into_the_answer(table):
    indexed = table.set_index("id")
    found = similar_galaxies(indexed, 0, n_neighbors=3)
    expected = similar_galaxies(table, 0, n_neighbors=3)
    assert list(found["id"]) == list(expected["id"])


def test_latents_with_units_are_converted_or_refused_never_stripped():
    import astropy.units as u

    from skgalvae import LatentOutlierDetector

    Z = np.random.default_rng(0).normal(size=(200, 3))
    detector = LatentOutlierDetector().fit(Z * u.m)
    # Latents in km are a thousand times larger in m: far outliers, not inliers.
    np.testing.assert_allclose(
        detector.sigma(Z[:2] * u.km), detector.sigma(1000 * Z[:2] * u.m)
    )
    assert (detector.predict(Z[:2] * u.km) == -1).all()
    with pytest.raises(ValueError, match="does not convert"):
        detector.sigma(Z[:2] * u.s)
    with pytest.raises(ValueError, match="has no unit"):
        detector.sigma(Z[:2])
    with pytest.raises(TypeError, match="latents is an astropy Quantity"):
        similar_galaxies(Z * u.m, 0, n_neighbors=2)
    with pytest.raises(TypeError, match="query is an astropy Quantity"):
        similar_galaxies(Z, Z[:1] * u.m, n_neighbors=2)
