"""Residual encoder and decoder, as the ``"resnet"`` architecture (the default).

Pre-activation residual blocks (GroupNorm, SiLU, 3x3 convolutions),
average-pool downsampling and resize-convolution upsampling (nearest upsample
then a 3x3 convolution): no transposed convolution, so no checkerboard
(Odena et al. 2016), and a linear output. The deep generative galaxy models of
Lanusse et al. (2021) are built this way.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .architectures import Architecture, register_architecture
from .networks import (
    FINAL_SIDE,
    PosteriorEncoder,
    ProjectingDecoder,
    output_activation_layer,
)


def _group_norm(channels):
    """GroupNorm with up to 8 groups that divide ``channels``."""
    groups = math.gcd(channels, 8)
    return nn.GroupNorm(groups, channels)


class LowPass(nn.Module):
    """A fixed 3x3 binomial blur, ``[1, 2, 1] x [1, 2, 1] / 16``, per channel.

    Its response is zero at the Nyquist frequency, so a map it ends cannot
    hold a 2-pixel pattern: the parity left by upsampling is removed
    (fixed low-pass filters against aliasing, as in Zhang 2019 and
    Karras et al. 2021). It has no parameters.
    """

    def __init__(self):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (taps[:, None] * taps[None, :]) / 16.0)

    def forward(self, x):
        """Blur each channel of ``x``, with replicated edges."""
        channels = x.shape[1]
        weight = self.kernel.to(x.dtype).expand(channels, 1, 3, 3)
        # Edges replicated by concatenation, the same values as
        # ``F.pad(mode="replicate")``, whose backward the compiler mis-strides
        # on channels_last maps.
        padded = torch.cat([x[..., :1, :], x, x[..., -1:, :]], dim=-2)
        padded = torch.cat([padded[..., :1], padded, padded[..., -1:]], dim=-1)
        return nn.functional.conv2d(padded, weight, groups=channels)


class PreActResidualBlock(nn.Module):
    """``x + conv(act(norm(conv(act(norm(x))))))``, with a 1x1 skip on width changes.

    A pre-activation residual block (He et al. 2016) with GroupNorm and SiLU.

    Parameters
    ----------
    in_channels, out_channels : int
        Widths of the input and output maps.
    """

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.residual = nn.Sequential(
            _group_norm(in_channels),
            nn.SiLU(),
            # No bias: the GroupNorm right after it would cancel it.
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            _group_norm(out_channels),
            nn.SiLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
        )
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv2d(in_channels, out_channels, 1)
        )

    def forward(self, x):
        """Return the block's output map."""
        return self.skip(x) + self.residual(x)


class ResNetEncoder(PosteriorEncoder):
    """Residual encoder: stem, then [AvgPool 2 -> residual block] per level.

    Parameters
    ----------
    in_channels : int
        Number of bands.
    image_size : int
        Side of the square input, ``FINAL_SIDE * 2 ** len(hidden_dims)``
        or any multiple of ``2 ** len(hidden_dims)``.
    hidden_dims : tuple of int
        Width of each level, from the finest (after the first pooling) to the
        coarsest.
    n_latent : int
        Width of the mean and log-variance heads.
    """

    def __init__(self, in_channels, image_size, hidden_dims, n_latent):
        super().__init__()
        stem_width = max(hidden_dims[0] // 2, 8)
        layers = [nn.Conv2d(in_channels, stem_width, 3, padding=1)]
        width = stem_width
        for level_width in hidden_dims:
            layers += [nn.AvgPool2d(2), PreActResidualBlock(width, level_width)]
            width = level_width
        layers += [_group_norm(width), nn.SiLU(), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        side = image_size // 2 ** len(hidden_dims)
        self.add_heads(width * side * side, n_latent)


class ResNetDecoder(ProjectingDecoder):
    """Residual decoder: Linear, then [residual block -> Upsample 2 -> Conv 3x3].

    Each level upsamples by nearest neighbour and convolves (a
    resize-convolution), so every output pixel sees the same kernel footprint
    and no checkerboard appears. The output layer is a 3x3 convolution
    followed by ``output_activation``, which is best left ``"identity"``: a
    ReLU or sigmoid output saturates and stops learning.

    Parameters
    ----------
    out_channels : int
        Number of bands.
    image_size : int
        Side of the square output.
    hidden_dims : tuple of int
        Encoder level widths; the decoder walks them in reverse.
    n_latent : int
        Latent width.
    output_activation : {"relu", "sigmoid", "identity"}
        Final non-linearity.
    """

    def __init__(
        self, out_channels, image_size, hidden_dims, n_latent, output_activation
    ):
        super().__init__()
        widths = tuple(reversed(hidden_dims))
        self.add_projection(n_latent, widths[0], image_size // 2 ** len(hidden_dims))
        stem_width = max(hidden_dims[0] // 2, 8)
        layers = []
        outputs = widths[1:] + (stem_width,)
        for level, (width_in, width_out) in enumerate(
            zip(widths, outputs, strict=True)
        ):
            last = level == len(widths) - 1  # then a GroupNorm follows: no bias
            layers += [
                PreActResidualBlock(width_in, width_in),
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(width_in, width_out, 3, padding=1, bias=not last),
            ]
        layers += [
            _group_norm(stem_width),
            nn.SiLU(),
            nn.Conv2d(stem_width, out_channels, 3, padding=1),
            LowPass(),
            output_activation_layer(output_activation),
        ]
        self.blocks = nn.Sequential(*layers)


def _n_halvings(side):
    """How many 2x poolings bring ``side`` down to ``FINAL_SIDE`` or less."""
    n = 0
    while side > FINAL_SIDE and side % 2 == 0:
        side //= 2
        n += 1
    return n


def _resnet_auto_dims(sample_shape):
    # 64 -> 4 levels (32, 64, 128, 128), 256 -> 6 levels (..., 128, 128).
    n_levels = max(1, _n_halvings(sample_shape[1]))
    return tuple(min(16 * 2**i, 128) for i in range(n_levels))


register_architecture(
    Architecture(
        name="resnet",
        encoder=ResNetEncoder,
        decoder=ResNetDecoder,
        side_multiple=lambda dims: 2 ** len(dims),
        auto_hidden_dims=_resnet_auto_dims,
        default_output_activation="identity",
        description="pre-activation residual blocks, average-pool down, "
        "resize-convolution up, linear output",
    )
)
