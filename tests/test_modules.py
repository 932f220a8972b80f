import pytest
import torch
from torch import nn

from skgalvae.nn import ConvDecoder, ConvEncoder, VAEModule


@pytest.mark.parametrize("bands, side", [(3, 64), (1, 128), (5, 64), (3, 256)])
def test_conv_vae_round_trips_shape(bands, side):
    module = VAEModule((bands, side, side), n_latent=7).eval()
    x = torch.rand(2, bands, side, side)
    x_hat, mu, logvar = module(x)
    assert x_hat.shape == x.shape
    assert mu.shape == logvar.shape == (2, 7)


def test_encoder_follows_the_paper():
    encoder = ConvEncoder(3, 256, (32, 64, 128), 40)
    kinds = [type(layer) for layer in encoder.features]
    block = [nn.Conv2d, nn.MaxPool2d, nn.LeakyReLU]
    assert kinds == block * 3 + [nn.Flatten]
    convs = [layer for layer in encoder.features if isinstance(layer, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert all(c.stride == (2, 2) and c.kernel_size == (3, 3) for c in convs)
    # 256 -> 4x4x128 before the linear heads.
    assert encoder.mu.in_features == 128 * 4 * 4


def test_decoder_follows_the_paper():
    decoder = ConvDecoder(3, 256, (32, 64, 128), 40, "relu")
    assert decoder.project.out_features == 128 * 4 * 4
    transposed = [b for b in decoder.blocks if isinstance(b, nn.ConvTranspose2d)]
    assert [(t.in_channels, t.out_channels) for t in transposed] == [
        (128, 64),
        (64, 32),
        (32, 32),
    ]
    assert isinstance(decoder.blocks[-2], nn.Conv2d)
    assert decoder.blocks[-2].out_channels == 3
    assert isinstance(decoder.blocks[-1], nn.ReLU)


def test_hidden_dims_are_not_mutated_and_rebuild_identically():
    dims = [32, 64, 128]  # a list, as a careless user would pass
    first = VAEModule((3, 64, 64), 5, hidden_dims=dims)
    second = VAEModule((3, 64, 64), 5, hidden_dims=dims)
    assert dims == [32, 64, 128]
    shapes = lambda m: [p.shape for p in m.parameters()]  # noqa: E731
    assert shapes(first) == shapes(second)


def test_dense_vae_and_training_noise():
    module = VAEModule((6,), n_latent=2, hidden_dims=(8, 8))
    x = torch.randn(5, 6)
    module.train()
    torch.manual_seed(0)
    a = module(x)[0]
    b = module(x)[0]
    assert not torch.equal(a, b)  # reparameterisation noise in training
    module.eval()
    assert torch.equal(module(x)[0], module(x)[0])  # eval decodes the mean


def test_bad_sample_shape():
    with pytest.raises(ValueError, match="sample_shape"):
        VAEModule((3, 64), 2)
