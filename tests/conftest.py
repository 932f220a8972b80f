import numpy as np
import pytest

from skgalvae import VAETransformer
from skgalvae.datasets import make_blobs_images


def small_vae(**params):
    """A VAETransformer sized for CPU tests: a few seconds per fit."""
    defaults = dict(n_latent=4, max_epochs=2, batch_size=32, random_state=0)
    return VAETransformer(**{**defaults, **params})


@pytest.fixture(name="small_vae", scope="session")
def small_vae_factory():
    """The :func:`small_vae` factory, for tests to build their own."""
    return small_vae


@pytest.fixture(scope="session")
def blobs():
    return make_blobs_images(96, image_size=64, random_state=0)


@pytest.fixture(scope="session")
def images(blobs):
    return blobs.images


@pytest.fixture(scope="session")
def fitted_vae(images):
    return small_vae().fit(images)


@pytest.fixture(scope="session")
def features():
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(120, 2))
    mixing = rng.normal(size=(2, 6))
    return (latent @ mixing + 0.05 * rng.normal(size=(120, 6))).astype(np.float32)
