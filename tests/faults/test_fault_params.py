"""Parameters changed after ``fit`` do not change what the fitted model does.

The fitted values (``n_latent_``, the mixture's ``weights_``, a scaler's
``scope_``) describe the model until the next fit, so that columns, names,
samples and survey tables always agree with one another.
"""

import numpy as np
import pytest

from skgalvae import GMMVAETransformer
from skgalvae.preprocessing import BandScaler
from skgalvae.survey import encode_survey, read_latents


@pytest.fixture
def two_latents(small_vae, images):
    return small_vae(n_latent=2).fit(images)


def test_a_changed_n_latent_keeps_the_fitted_width(two_latents, images, tmp_path):
    before = two_latents.transform(images[:8])
    two_latents.set_params(n_latent=5)
    assert two_latents.n_latent_ == 2
    np.testing.assert_array_equal(two_latents.transform(images[:8]), before)
    assert list(two_latents.get_feature_names_out()) == ["vae0", "vae1"]
    frame = two_latents.set_output(transform="pandas").transform(images[:8])
    assert frame.shape == (8, 2)
    two_latents.set_output(transform="default")
    assert two_latents.sample(3, random_state=0).shape == (3, *images.shape[1:])
    decoded = two_latents.inverse_transform(before)
    assert decoded.shape == (8, *images.shape[1:])
    with pytest.raises(ValueError, match="n_latent_=2"):
        two_latents.inverse_transform(np.zeros((2, 5), dtype=np.float32))
    encode_survey(two_latents, images[:8], tmp_path / "t.zarr", progress=False)
    assert read_latents(tmp_path / "t.zarr").filter(regex=r"^vae\d+$").shape == (8, 2)


def test_a_changed_n_components_keeps_the_fitted_mixture(images):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    gmm = GMMVAETransformer(
        n_latent=2,
        hidden_dims=(8,),
        n_components=3,
        max_epochs=1,
        pretrain_epochs=1,
        batch_size=16,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(images)
    proba = gmm.predict_proba(images[:8])
    gmm.set_params(n_components=5)
    np.testing.assert_array_equal(gmm.predict_proba(images[:8]), proba)
    assert gmm.sample(4, random_state=0).shape == (4, *images.shape[1:])
    assert gmm.sample(2, component=2, random_state=0).shape[0] == 2
    with pytest.raises(ValueError, match=r"an int in \[0, 3\)"):
        gmm.sample(2, component=4)


def test_a_changed_scope_keeps_the_fitted_scaling(images):
    scaler = BandScaler(scope="dataset").fit(images)
    before = scaler.transform(images[:8])
    scaler.set_params(scope="image", method="percentile")
    np.testing.assert_array_equal(scaler.transform(images[:8]), before)
    assert scaler.scope_ == "dataset"
    # The other way round: per-image scaling does not read a range it never had.
    per_image = BandScaler(scope="image").fit(images)
    expected = per_image.transform(images[:8])
    per_image.set_params(scope="dataset")
    np.testing.assert_array_equal(per_image.transform(images[:8]), expected)


def test_reordered_latent_columns_decode_by_name(two_latents, images):
    import pandas as pd

    two_latents.set_output(transform="pandas")
    try:
        frame = two_latents.transform(images[:4])
    finally:
        two_latents.set_output(transform="default")
    expected = two_latents.inverse_transform(frame)
    swapped = frame[["vae1", "vae0"]]
    np.testing.assert_array_equal(two_latents.inverse_transform(swapped), expected)
    unnamed = pd.DataFrame(frame.to_numpy())  # columns 0, 1: by position
    np.testing.assert_array_equal(two_latents.inverse_transform(unnamed), expected)
    with pytest.raises(ValueError, match=r"missing \['vae1'\], unexpected \['z'\]"):
        two_latents.inverse_transform(frame.rename(columns={"vae1": "z"}))


@pytest.mark.parametrize(
    "change", [{"architecture": "xu2023"}, {"hidden_dims": (8, 16)}], ids=str
)
def test_warm_start_with_another_network_is_refused_by_name(small_vae, images, change):
    vae = small_vae(n_latent=2, hidden_dims=(8,), warm_start=True).fit(images)
    vae.set_params(**change)
    with pytest.raises(ValueError, match=f"its {next(iter(change))} changed"):
        vae.fit(images)
