"""A VAE on real Legacy Surveys cutouts (Galaxy Zoo DESI subset), when present."""

import io
from pathlib import Path

import joblib
import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz_desi_1500"

pytestmark = pytest.mark.skipif(
    not (DATA / "images.npz").exists(),
    reason=f"real galaxy data not found at {DATA}",
)


@pytest.fixture(scope="module")
def galaxies():
    images = np.load(DATA / "images.npz")["images"]
    assert images.shape == (1500, 3, 128, 128) and images.dtype == np.uint8
    return images[::10]  # 150 galaxies, every tenth


@pytest.mark.slow
def test_vae_learns_real_uint8_galaxies(galaxies, small_vae):
    vae = small_vae(n_latent=8, max_epochs=3).fit(galaxies)
    assert vae.pixel_scale_ == 255.0 and vae.data_range_ == 255.0
    assert vae.image_shape_ == (3, 128, 128)
    assert vae.output_activation_ == "identity"  # the residual network's linear output
    ssims = vae.history_[:, "train_ssim"]
    assert ssims[-1] > ssims[0] + 0.05  # 3 epochs of 150 galaxies
    latents = vae.transform(galaxies)
    assert latents.shape == (150, 8) and np.isfinite(latents).all()
    # Distinct galaxies get distinct latents (a few steps in, they still sit near
    # the prior mean, so no stronger spread is asserted at this budget).
    assert len(np.unique(latents.round(6), axis=0)) == len(galaxies)
    recon = vae.reconstruct(galaxies[:4])
    assert recon.shape == (4, 3, 128, 128) and recon.dtype == np.float32
    # In the input's units (0-255), not the network's (0-1).
    assert 0.25 * galaxies[:4].mean() < recon.mean() < 2 * galaxies[:4].mean()
    assert 0 < vae.score(galaxies) <= 1

    buffer = io.BytesIO()
    joblib.dump(vae, buffer)
    buffer.seek(0)
    np.testing.assert_allclose(
        joblib.load(buffer).transform(galaxies), latents, atol=1e-5
    )


def test_load_gz_desi_real_layout():
    from skgalvae.datasets import load_gz_desi

    data = load_gz_desi(DATA, image_size=64)
    assert data.images.shape == (1500, 3, 64, 64) and data.images.dtype == np.uint8
    counts = data.labels["gz1_class"].value_counts()
    assert (counts["spiral"], counts["elliptical"], counts["uncertain"]) == (
        1008,
        208,
        284,
    )
    assert {"P_EL", "P_CS", "NVOTE"} <= set(data.votes.columns)
    assert data.params["dr8_id"].iloc[0] == "265946_2961"
    # Spirals are voted spiral, ellipticals elliptical.
    spiral = data.labels["gz1_class"] == "spiral"
    assert (data.votes["P_CS_DEBIASED"][spiral] > 0.8).mean() > 0.95
    full = load_gz_desi(DATA)
    assert full.images.shape == (1500, 3, 128, 128)
    # Area averaging: the 64x64 pixel is the mean of its 2x2 block.
    block = full.images[0, :, :2, :2].astype(float).mean(axis=(1, 2))
    np.testing.assert_allclose(data.images[0, :, 0, 0], block, atol=0.51)
