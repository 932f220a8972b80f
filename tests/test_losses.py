import numpy as np
import pytest
import torch

from skgalvae.nn import ELBOLoss, kl_divergence, reconstruction_error


def test_reconstruction_error_sums_per_sample():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 8, 8)).astype(np.float32)
    x_hat = rng.normal(size=x.shape).astype(np.float32)
    mse = reconstruction_error(torch.from_numpy(x_hat), torch.from_numpy(x), "mse")
    mae = reconstruction_error(torch.from_numpy(x_hat), torch.from_numpy(x), "mae")
    np.testing.assert_allclose(mse, ((x_hat - x) ** 2).sum(axis=(1, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(mae, np.abs(x_hat - x).sum(axis=(1, 2, 3)), rtol=1e-5)
    with pytest.raises(ValueError, match="'mse' or 'mae'"):
        reconstruction_error(torch.zeros(1, 2), torch.zeros(1, 2), "huber")


def test_kl_divergence_matches_closed_form():
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    logvar = torch.tensor([[0.0, 0.0], [np.log(4.0), 0.0]])
    kl = kl_divergence(mu, logvar)
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2 per dimension.
    expected = [0.0, 0.5 * (1 + 4 - 1 - np.log(4.0)) + 0.5 * 4]
    np.testing.assert_allclose(kl, expected, rtol=1e-6)


def test_elbo_combines_terms_with_weight():
    torch.manual_seed(0)
    x, x_hat = torch.rand(6, 10), torch.rand(6, 10)
    mu, logvar = torch.randn(6, 3), torch.randn(6, 3)
    terms = ELBOLoss("sse", kl_weight=0.25)(x_hat, x, mu, logvar)
    rec = reconstruction_error(x_hat, x).mean()
    kl = kl_divergence(mu, logvar).mean()
    torch.testing.assert_close(terms["reconstruction"], rec)
    torch.testing.assert_close(terms["kl"], kl)
    torch.testing.assert_close(terms["loss"], rec + 0.25 * kl)
