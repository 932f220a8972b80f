import numpy as np
import pytest
import torch
from torch import nn

from skgalvae import VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.metrics import band_flux_ratio, periodic_artifact_power
from skgalvae.nn.architectures import (
    ARCHITECTURES,
    Architecture,
    register_architecture,
    resolve_hidden_dims,
)
from skgalvae.nn.likelihoods import LIKELIHOODS
from skgalvae.nn.modules import VAEModule
from skgalvae.preprocessing import MTFStretch


def test_registry_holds_the_three_families():
    assert {"xu2023", "resnet", "dense"} <= set(ARCHITECTURES)
    assert ARCHITECTURES["dense"].takes_images is False


@pytest.mark.parametrize(
    ("architecture", "side", "dims"),
    [
        ("resnet", 64, (16, 32, 64, 128)),
        ("resnet", 256, (16, 32, 64, 128, 128, 128)),
        ("xu2023", 64, (32, 64)),
        ("xu2023", 256, (32, 64, 128)),
    ],
)
def test_auto_depth_ends_in_a_4x4_map(architecture, side, dims):
    assert resolve_hidden_dims(architecture, "auto", (3, side, side)) == dims
    module = VAEModule((3, side, side), 5, dims, "identity", architecture)
    x = torch.rand(2, 3, side, side)
    with torch.no_grad():
        mu, logvar = module.encode(x)
        maps = module.encoder.features[:-1](x)  # before the flatten
        out = module.decode(mu)
    assert maps.shape[-2:] == (4, 4)
    assert mu.shape == logvar.shape == (2, 5)
    assert out.shape == x.shape


def test_resnet_decoder_has_no_transposed_convolutions():
    module = VAEModule((3, 64, 64), 4, (16, 32, 64, 128), "identity", "resnet")
    kinds = {type(layer) for layer in module.decoder.modules()}
    assert nn.ConvTranspose2d not in kinds
    assert nn.Upsample in kinds
    xu = VAEModule((3, 64, 64), 4, (32, 64), "relu", "xu2023")
    assert nn.ConvTranspose2d in {type(layer) for layer in xu.decoder.modules()}


def test_dense_architecture_refuses_images_with_a_clear_error(images):
    with pytest.raises(ValueError, match="architecture='dense'.*feature vectors"):
        VAETransformer(architecture="dense", max_epochs=1).fit(images)


def test_dense_architecture_trains_on_features(features):
    vae = VAETransformer(n_latent=2, architecture="dense", max_epochs=2, random_state=0)
    vae.fit(features)
    assert vae.transform(features).shape == (len(features), 2)
    assert vae.hidden_dims_ == (256, 128)


def test_a_registered_architecture_is_usable_by_name(images):
    xu = ARCHITECTURES["xu2023"]
    register_architecture(
        Architecture(
            name="tiny",
            encoder=xu.encoder,
            decoder=xu.decoder,
            side_multiple=xu.side_multiple,
            auto_hidden_dims=lambda shape: (8,),
            default_output_activation="identity",
            description="a test family",
        )
    )
    try:
        module = VAEModule((3, 64, 64), 2, (8,), "identity", "tiny")
        assert module.decode(torch.zeros(1, 2)).shape == (1, 3, 64, 64)
        # Registered after import, it passes parameter validation and fits.
        vae = VAETransformer(n_latent=2, architecture="tiny", max_epochs=1)
        assert vae.fit(images).transform(images).shape == (len(images), 2)
        assert vae.hidden_dims_ == (8,)
    finally:
        del ARCHITECTURES["tiny"]
    with pytest.raises(ValueError, match="'architecture' parameter"):
        VAETransformer(architecture="tiny").fit(images)


def test_a_likelihood_added_to_the_registry_is_usable_by_name(images):
    LIKELIHOODS["my_laplace"] = LIKELIHOODS["laplace"]  # a factory(noise, n_bands)
    try:
        vae = VAETransformer(n_latent=2, likelihood="my_laplace", max_epochs=1)
        assert vae.fit(images).transform(images).shape == (len(images), 2)
    finally:
        del LIKELIHOODS["my_laplace"]


@pytest.fixture(scope="module")
def galaxies():
    data = make_galaxies(256, random_state=0)
    return MTFStretch().fit_transform(data.images).astype(np.float32)


@pytest.mark.slow
def test_trained_resnet_leaves_no_grid_and_keeps_band_fluxes(galaxies):
    """The residual of a trained model has no spike at periods of 2, 4, 8 px.

    A 2-pixel checkerboard of 5% of the range scores far above 10 (see
    ``periodic_artifact_power``'s example); PCA's reconstructions of galaxy
    cutouts score 1-4.
    """
    vae = VAETransformer(n_latent=8, max_epochs=8, batch_size=16, random_state=0)
    recon = vae.fit(galaxies).reconstruct(galaxies)
    power = periodic_artifact_power(galaxies, recon)
    assert max(power.values()) < 10, power
    np.testing.assert_allclose(band_flux_ratio(galaxies, recon), 1.0, atol=0.05)
    grid = np.indices((64, 64)).sum(axis=0) % 2 * 0.05
    assert periodic_artifact_power(galaxies, recon + grid)[2] > 10
