import math

import numpy as np
import pytest
import torch
from torch.distributions import Laplace, Normal

from skgalvae import VAETransformer
from skgalvae.nn import ELBOLoss, free_bits_kl, kl_per_latent
from skgalvae.nn.likelihoods import (
    LIKELIHOODS,
    CalibratedLikelihood,
    SummedError,
    check_noise,
    make_likelihood,
)


@pytest.fixture
def pair():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 8, 8, generator=gen)
    band_noise = torch.tensor([0.01, 0.05, 0.2]).view(1, 3, 1, 1)
    x_hat = x + band_noise * torch.randn(6, 3, 8, 8, generator=gen)
    return x_hat, x


def test_summed_errors_are_the_studys_losses(pair):
    x_hat, x = pair
    sse = make_likelihood("sse")(x_hat, x)
    sae = make_likelihood("sae")(x_hat, x)
    torch.testing.assert_close(sse, (x_hat - x).square().sum(dim=(1, 2, 3)))
    torch.testing.assert_close(sae, (x_hat - x).abs().sum(dim=(1, 2, 3)))
    with pytest.raises(ValueError, match="Unknown likelihood 'mse'; choose one of"):
        make_likelihood("mse")  # an error metric, not a likelihood's name
    assert make_likelihood("sae").error_metric == "mae"


def test_optimal_gaussian_is_the_normal_log_likelihood_at_the_band_rms(pair):
    x_hat, x = pair
    nll = CalibratedLikelihood("gaussian", "optimal", n_bands=3)(x_hat, x)
    rms = (x_hat - x).square().mean(dim=(0, 2, 3)).sqrt().view(1, 3, 1, 1)
    expected = -Normal(x_hat, rms).log_prob(x).sum(dim=(1, 2, 3))
    torch.testing.assert_close(nll, expected, rtol=1e-5, atol=1e-3)


def test_optimal_laplace_uses_the_band_mean_absolute_residual(pair):
    x_hat, x = pair
    nll = CalibratedLikelihood("laplace", "optimal", n_bands=3)(x_hat, x)
    scale = (x_hat - x).abs().mean(dim=(0, 2, 3)).view(1, 3, 1, 1)
    expected = -Laplace(x_hat, scale).log_prob(x).sum(dim=(1, 2, 3))
    torch.testing.assert_close(nll, expected, rtol=1e-5, atol=1e-3)


def test_known_noise_per_band(pair):
    x_hat, x = pair
    sigma = (0.02, 0.05, 0.1)
    nll = CalibratedLikelihood("gaussian", sigma, n_bands=3)(x_hat, x)
    scale = torch.tensor(sigma).view(1, 3, 1, 1)
    expected = -Normal(x_hat, scale).log_prob(x).sum(dim=(1, 2, 3))
    torch.testing.assert_close(nll, expected, rtol=1e-5, atol=1e-3)


def test_calibrated_gradient_does_not_depend_on_the_pixel_scale(pair):
    """The sigma-VAE's point: the fit sees the residual relative to the noise."""
    x_hat, x = (t.double() for t in pair)  # float64: large r / sigma^2 terms
    grads = []
    for factor in (1.0, 10.0):
        leaf = (x_hat * factor).requires_grad_()
        CalibratedLikelihood("gaussian", n_bands=3)(leaf, x * factor).sum().backward()
        grads.append(leaf.grad * factor)
    torch.testing.assert_close(grads[0], grads[1])


def test_bad_noise_is_refused_with_what_was_given():
    with pytest.raises(ValueError, match="3 positive numbers"):
        CalibratedLikelihood("gaussian", (0.1, 0.2), n_bands=3)
    with pytest.raises(ValueError, match="'optimal', 'learned'"):
        check_noise((0.1, -1.0), 2)
    assert check_noise(25.5, 3, scale=255.0) == (0.1,)
    with pytest.raises(ValueError, match="Unknown likelihood 'poisson'"):
        make_likelihood("poisson")
    assert set(LIKELIHOODS) == {"sse", "sae", "gaussian", "laplace"}


def test_free_bits_charge_at_least_the_floor_per_latent():
    mu = torch.tensor([[0.1, 2.0], [0.0, 2.0]])
    logvar = torch.zeros(2, 2)
    per_latent = kl_per_latent(mu, logvar).mean(dim=0)  # 0.0025 and 2.0
    assert float(free_bits_kl(mu, logvar, 0.5)) == pytest.approx(0.5 + 2.0)
    x = torch.zeros(2, 3)
    terms = ELBOLoss("gaussian", free_bits=0.5, noise=1.0)(x, x, mu, logvar)
    assert float(terms["kl"]) == pytest.approx(float(per_latent.sum()))
    assert float(terms["loss"] - terms["reconstruction"]) == pytest.approx(2.5)


def test_summed_error_needs_a_known_kind():
    with pytest.raises(ValueError, match="'mse' or 'mae'"):
        SummedError("huber")


@pytest.mark.slow
def test_calibrated_likelihood_keeps_more_latents_than_the_summed_error(images):
    common = dict(n_latent=8, max_epochs=6, batch_size=16, random_state=0)
    sse = VAETransformer(likelihood="sse", **common).fit(images)
    gaussian = VAETransformer(likelihood="gaussian", **common).fit(images)
    assert gaussian.n_active_latents_ > sse.n_active_latents_
    assert gaussian.noise_scale_.shape == (3,)
    assert sse.noise_scale_ is None
    # The calibrated noise is of the size of the residual, in X's units.
    rms = np.sqrt(((gaussian.reconstruct(images) - images) ** 2).mean(axis=(0, 2, 3)))
    assert np.all(
        (0.5 * rms < gaussian.noise_scale_) & (gaussian.noise_scale_ < 2 * rms)
    )


def test_learned_noise_is_trained(images):
    vae = VAETransformer(
        n_latent=4,
        likelihood="laplace",
        noise="learned",
        hidden_dims=(8,),
        max_epochs=2,
        batch_size=16,
        random_state=0,
    ).fit(images)
    log_scale = vae.net_.criterion_.likelihood.log_scale
    assert log_scale.requires_grad
    assert any(log_scale is p for _, p in vae.net_.get_all_learnable_params())
    np.testing.assert_allclose(
        vae.noise_scale_, np.exp(log_scale.detach().numpy()), rtol=1e-6
    )
    assert math.isfinite(vae.history_[-1, "train_loss"])
