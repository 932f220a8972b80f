import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from skgalvae.metrics import ssim


def _reference(x, y, data_range):
    return np.array(
        [
            structural_similarity(
                a,
                b,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=data_range,
                channel_axis=0,
            )
            for a, b in zip(x, y, strict=True)
        ]
    )


@pytest.mark.parametrize("noise", [0.05, 0.3, 1.0])
def test_matches_scikit_image_on_real_valued_images(images, noise):
    rng = np.random.default_rng(0)
    x = images[:6].astype(np.float64)
    y = x + rng.normal(scale=noise, size=x.shape)
    data_range = float(max(x.max(), y.max()) - min(x.min(), y.min()))
    ours = ssim(torch.from_numpy(x), torch.from_numpy(y), data_range=data_range)
    np.testing.assert_allclose(ours.numpy(), _reference(x, y, data_range), atol=1e-3)


def test_single_band_input_and_numpy_arrays():
    rng = np.random.default_rng(1)
    x = rng.random((3, 32, 48))
    y = np.clip(x + 0.1 * rng.normal(size=x.shape), 0, 1)
    ours = ssim(x, y, data_range=1.0).numpy()
    ref = [
        structural_similarity(
            a,
            b,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=1.0,
        )
        for a, b in zip(x, y, strict=True)
    ]
    np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_identity_symmetry_and_reduction():
    x = torch.rand(4, 2, 32, 32)
    y = torch.rand(4, 2, 32, 32)
    torch.testing.assert_close(ssim(x, x, data_range=1.0), torch.ones(4))
    torch.testing.assert_close(ssim(x, y, data_range=1.0), ssim(y, x, data_range=1.0))
    per_image = ssim(x, y, data_range=1.0)
    torch.testing.assert_close(
        ssim(x, y, data_range=1.0, reduction="mean"), per_image.mean()
    )
    assert (per_image < 0.5).all()  # independent noise is dissimilar


def test_errors():
    with pytest.raises(ValueError, match="equal shape"):
        ssim(torch.rand(1, 32, 32), torch.rand(1, 32, 31), data_range=1.0)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.rand(1, 8, 8), torch.rand(1, 8, 8), data_range=1.0)
    with pytest.raises(ValueError, match=r"\(n, bands, h, w\)"):
        ssim(torch.rand(8, 8), torch.rand(8, 8), data_range=1.0)
