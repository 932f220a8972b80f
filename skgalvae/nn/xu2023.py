"""The study's encoder and decoder (Xu et al. 2023, Fig. 2): architecture ``"xu2023"``.

Strided convolutions and max-pooling down; upsampling followed by a stride-2
transposed convolution up. Each block shrinks the image side 4x.
"""

from __future__ import annotations

import math

from torch import nn

from .architectures import Architecture, register_architecture
from .networks import (
    FINAL_SIDE,
    PosteriorEncoder,
    ProjectingDecoder,
    output_activation_layer,
)


def conv_downsampling_factor(n_blocks: int) -> int:
    """Return how much ``n_blocks`` encoder blocks shrink each image side.

    Each block halves the side twice: a stride-2 convolution, then a 2x2
    max-pool. Three blocks (the paper's encoder) give 64.
    """
    return 4**n_blocks


class ConvEncoder(PosteriorEncoder):
    """The study's encoder: [Conv 3x3/2 -> MaxPool 2 -> LeakyReLU] blocks.

    Parameters
    ----------
    in_channels : int
        Number of bands.
    image_size : int
        Side of the square input, divisible by ``4 ** len(hidden_dims)``.
    hidden_dims : tuple of int
        Output channels of each block.
    n_latent : int
        Width of the mean and log-variance heads.
    """

    def __init__(self, in_channels, image_size, hidden_dims, n_latent):
        super().__init__()
        blocks = []
        channels = in_channels
        for width in hidden_dims:
            blocks += [
                nn.Conv2d(channels, width, kernel_size=3, stride=2, padding=1),
                nn.MaxPool2d(2),
                nn.LeakyReLU(),
            ]
            channels = width
        self.features = nn.Sequential(*blocks, nn.Flatten())
        side = image_size // conv_downsampling_factor(len(hidden_dims))
        self.add_heads(channels * side * side, n_latent)


class ConvDecoder(ProjectingDecoder):
    """The study's decoder: Linear, [Upsample 2 -> ConvT 3x3/2 -> LeakyReLU] blocks.

    The last block keeps the width of the first encoder block and is followed by a
    3x3 convolution to ``out_channels`` and the output activation.

    Parameters
    ----------
    out_channels : int
        Number of bands.
    image_size : int
        Side of the square output.
    hidden_dims : tuple of int
        Encoder block widths; the decoder walks them in reverse.
    n_latent : int
        Latent width.
    output_activation : {"relu", "sigmoid", "identity"}
        Final non-linearity (the paper uses ReLU).
    """

    def __init__(
        self, out_channels, image_size, hidden_dims, n_latent, output_activation
    ):
        super().__init__()
        widths = tuple(reversed(hidden_dims))  # a reversed copy; never mutate config
        side = image_size // conv_downsampling_factor(len(hidden_dims))
        self.add_projection(n_latent, widths[0], side)
        blocks = []
        for width_in, width_out in zip(widths, widths[1:] + (widths[-1],), strict=True):
            blocks += [
                nn.Upsample(scale_factor=2),
                nn.ConvTranspose2d(
                    width_in, width_out, 3, stride=2, padding=1, output_padding=1
                ),
                nn.LeakyReLU(),
            ]
        blocks += [
            nn.Conv2d(widths[-1], out_channels, kernel_size=3, padding=1),
            output_activation_layer(output_activation),
        ]
        self.blocks = nn.Sequential(*blocks)


def _xu2023_auto_dims(sample_shape):
    # Each block shrinks the side 4x: 256 -> 3 blocks (the study's), 64 -> 2.
    side = sample_shape[1]
    n_blocks = max(1, round(math.log(max(side, 1) / FINAL_SIDE, 4)))
    return tuple(min(32 * 2**i, 256) for i in range(n_blocks))


register_architecture(
    Architecture(
        name="xu2023",
        encoder=ConvEncoder,
        decoder=ConvDecoder,
        side_multiple=lambda dims: conv_downsampling_factor(len(dims)),
        auto_hidden_dims=_xu2023_auto_dims,
        default_output_activation="relu",
        description="the study's strided-conv/max-pool encoder and "
        "upsample + transposed-conv decoder",
    )
)
