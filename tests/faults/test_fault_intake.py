"""Arrays as astronomy code hands them over: big-endian, masked, memory-mapped."""

import numpy as np
import pytest

from skgalvae import VAETransformer
from skgalvae.preprocessing import BandScaler

PARAMS = dict(n_latent=2, hidden_dims=(8,), max_epochs=1, batch_size=16)


@pytest.fixture(scope="module")
def native():
    return np.random.default_rng(0).random((32, 1, 64, 64), dtype=np.float32)


def test_big_endian_images_fit_and_transform_as_native_ones(native, tmp_path):
    # What astropy.io.fits.getdata returns: '>f4'.
    big = native.astype(">f4")
    reference = VAETransformer(**PARAMS, random_state=0).fit(native)
    fitted = VAETransformer(**PARAMS, random_state=0).fit(big)
    np.testing.assert_array_equal(fitted.transform(big), reference.transform(native))
    # A big-endian memmap is read batch by batch, converted as it is read.
    mapped = np.lib.format.open_memmap(
        tmp_path / "big.npy", mode="w+", dtype=">f4", shape=native.shape
    )
    mapped[:] = native
    np.testing.assert_array_equal(fitted.transform(mapped), reference.transform(native))
    big_ints = (native * 1000).astype(">i2")
    assert BandScaler().fit_transform(big_ints).dtype == np.float32


def test_a_masked_array_without_masked_values_is_its_data(native):
    vae = VAETransformer(**PARAMS, random_state=0).fit(native)
    masked = np.ma.masked_array(native, mask=np.zeros(native.shape, bool))
    np.testing.assert_array_equal(vae.transform(masked), vae.transform(native))


def test_masked_values_are_refused_naming_the_first_sample(native):
    sentinel = native.copy()
    sentinel[7, 0, :4] = -9999.0  # a bad column, masked
    masked = np.ma.masked_less(sentinel, -1000)
    message = r"256 masked values in 1 samples \(the first: sample 7\)"
    with pytest.raises(ValueError, match=message):
        VAETransformer(**PARAMS).fit(masked)
    with pytest.raises(ValueError, match="masked array"):
        BandScaler().fit(masked)
