"""What every encoder and decoder shares, and the dense networks.

:class:`PosteriorEncoder` maps features to the posterior's ``(mu, logvar)``
and :class:`ProjectingDecoder` projects a latent vector onto the first
feature map; the convolutional families build on them, one module each
(:mod:`skgalvae.nn.xu2023`, :mod:`skgalvae.nn.resnet`). The dense encoder and
decoder take feature vectors, whatever the architecture.
:mod:`skgalvae.nn.architectures` names the families and picks their widths.
"""

from __future__ import annotations

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
