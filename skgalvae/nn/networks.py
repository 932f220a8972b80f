"""The encoder and decoder networks that the architectures are built from.

The convolutional families (the study's strided-conv encoder and
transposed-conv decoder, and the residual networks) and the dense one, with
their shared heads: :class:`PosteriorEncoder` maps features to the posterior's
``(mu, logvar)`` and :class:`ProjectingDecoder` projects a latent vector onto
the first feature map. :mod:`skgalvae.nn.architectures` names them and picks
their widths.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: Side of the last feature map that ``hidden_dims="auto"`` aims for.
FINAL_SIDE = 4

_OUTPUT_ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def output_activation_layer(name):
    """Return a new layer of the named final non-linearity.

    Parameters
    ----------
    name : {"relu", "sigmoid", "identity"}
        The activation.

    Returns
    -------
    torch.nn.Module
    """
    return _OUTPUT_ACTIVATIONS[name]()


class PosteriorEncoder(nn.Module):
    """Base of the encoders: ``features`` then linear ``mu`` and ``logvar`` heads.

    Subclasses build ``features`` (ending in a flat vector of ``n_flat``
    values) and call :meth:`add_heads`.
    """

    def add_heads(self, n_flat, n_latent):
        """Add the posterior mean and log-variance heads."""
        self.mu = nn.Linear(n_flat, n_latent)
        self.logvar = nn.Linear(n_flat, n_latent)

    def forward(self, x):
        """Return the posterior mean and log-variance of ``x``, in float32."""
        h = self.features(x)
        # The heads run in float32 even under bf16 autocast: the latents are
        # the estimators' output, and bf16 would round them by ~0.4 %.
        with torch.autocast(device_type=h.device.type, enabled=False):
            h = h.float()
            return self.mu(h), self.logvar(h)


class ProjectingDecoder(nn.Module):
    """Base of the image decoders: a linear map to a small feature map, ``blocks``.

    Subclasses call :meth:`add_projection` and build ``blocks``, which take
    the ``(width, side, side)`` map to the image.
    """

    #: Memory format of the feature map the blocks get: ``torch.channels_last``
    #: when the network's weights are (see :func:`set_memory_format`), so
    #: that no convolution converts it.
    memory_format = torch.contiguous_format

    def add_projection(self, n_latent, width, side):
        """Add the linear map from latents to a ``(width, side, side)`` map."""
        self._top_width = width
        self._side = side
        self.project = nn.Linear(n_latent, width * side * side)

    def forward(self, z):
        """Decode latent vectors ``z`` to images."""
        h = self.project(z).view(-1, self._top_width, self._side, self._side)
        return self.blocks(h.contiguous(memory_format=self.memory_format))


def set_memory_format(module, memory_format):
    """Put ``module``'s convolution weights and decoders' maps in ``memory_format``.

    Parameters
    ----------
    module : torch.nn.Module
        A VAE module (or any module holding image decoders).
    memory_format : torch.memory_format
        ``torch.channels_last`` or ``torch.contiguous_format``.

    Returns
    -------
    torch.nn.Module
        ``module``, changed in place.
    """
    module.to(memory_format=memory_format)
    for part in module.modules():
        if isinstance(part, ProjectingDecoder):
            part.memory_format = memory_format
    return module


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


class DenseEncoder(PosteriorEncoder):
    """A multi-layer perceptron encoder for feature vectors.

    Parameters
    ----------
    n_features : int
        Input width.
    hidden_dims : tuple of int
        Hidden layer widths, first to last.
    n_latent : int
        Latent width.
    """

    def __init__(self, n_features, hidden_dims, n_latent):
        super().__init__()
        layers = []
        width_in = n_features
        for width in hidden_dims:
            layers += [nn.Linear(width_in, width), nn.LeakyReLU()]
            width_in = width
        self.features = nn.Sequential(*layers)
        self.add_heads(width_in, n_latent)


class DenseDecoder(nn.Module):
    """A multi-layer perceptron decoder mirroring :class:`DenseEncoder`."""

    def __init__(self, n_features, hidden_dims, n_latent, output_activation):
        super().__init__()
        layers = []
        width_in = n_latent
        for width in reversed(hidden_dims):
            layers += [nn.Linear(width_in, width), nn.LeakyReLU()]
            width_in = width
        layers += [
            nn.Linear(width_in, n_features),
            output_activation_layer(output_activation),
        ]
        self.blocks = nn.Sequential(*layers)

    def forward(self, z):
        """Decode latent vectors ``z`` to feature vectors."""
        return self.blocks(z)


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
