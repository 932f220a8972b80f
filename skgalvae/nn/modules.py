"""Torch modules of the VAE: convolutional and dense encoders and decoders.

Everything here is plain :mod:`torch`; the estimator layer builds these from
primitive configuration values so a fitted model can be stored as tensors plus
config and rebuilt anywhere.
"""

from __future__ import annotations

import torch
from torch import nn

_OUTPUT_ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def conv_downsampling_factor(n_blocks: int) -> int:
    """Return how much ``n_blocks`` encoder blocks shrink each image side.

    Each block halves the side twice: a stride-2 convolution, then a 2x2
    max-pool. Three blocks (the paper's encoder) give 64.
    """
    return 4**n_blocks


class ConvEncoder(nn.Module):
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
        n_flat = channels * side * side
        self.mu = nn.Linear(n_flat, n_latent)
        self.logvar = nn.Linear(n_flat, n_latent)

    def forward(self, x):
        """Return the posterior mean and log-variance of ``x``."""
        h = self.features(x)
        return self.mu(h), self.logvar(h)


class ConvDecoder(nn.Module):
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
        self._side = image_size // conv_downsampling_factor(len(hidden_dims))
        self._top_width = widths[0]
        self.project = nn.Linear(n_latent, widths[0] * self._side * self._side)
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
            _OUTPUT_ACTIVATIONS[output_activation](),
        ]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z):
        """Decode latent vectors ``z`` to images."""
        h = self.project(z).view(-1, self._top_width, self._side, self._side)
        return self.blocks(h)


class DenseEncoder(nn.Module):
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
        self.mu = nn.Linear(width_in, n_latent)
        self.logvar = nn.Linear(width_in, n_latent)

    def forward(self, x):
        """Return the posterior mean and log-variance of ``x``."""
        h = self.features(x)
        return self.mu(h), self.logvar(h)


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
            _OUTPUT_ACTIVATIONS[output_activation](),
        ]
        self.blocks = nn.Sequential(*layers)

    def forward(self, z):
        """Decode latent vectors ``z`` to feature vectors."""
        return self.blocks(z)


class VAEModule(nn.Module):
    """Variational autoencoder over images ``(C, H, W)`` or vectors ``(F,)``.

    A three-element ``sample_shape`` builds the study's convolutional VAE, a
    one-element one a dense VAE. All arguments are plain Python values, so the
    module can be rebuilt from its config and a state dict.

    Parameters
    ----------
    sample_shape : tuple of int
        Shape of one sample: ``(bands, side, side)`` or ``(n_features,)``.
    n_latent : int
        Latent width.
    hidden_dims : tuple of int, default=(32, 64, 128)
        Block widths of the encoder (the decoder mirrors them).
    output_activation : {"relu", "sigmoid", "identity"}, default="relu"
        Final non-linearity of the decoder.
    """

    def __init__(
        self,
        sample_shape,
        n_latent,
        hidden_dims=(32, 64, 128),
        output_activation="relu",
    ):
        super().__init__()
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.n_latent = int(n_latent)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.output_activation = output_activation
        if len(self.sample_shape) not in (1, 3):
            raise ValueError(
                f"sample_shape must be (bands, side, side) or (n_features,); "
                f"got {self.sample_shape}."
            )
        if self.is_convolutional:
            bands, side, _ = self.sample_shape
            self.encoder = ConvEncoder(bands, side, self.hidden_dims, self.n_latent)
        else:
            (n_features,) = self.sample_shape
            self.encoder = DenseEncoder(n_features, self.hidden_dims, self.n_latent)
        self.decoder = self.make_decoder()

    def make_decoder(self):
        """Build a new, freshly initialised decoder for this VAE's shapes."""
        if self.is_convolutional:
            bands, side, _ = self.sample_shape
            return ConvDecoder(
                bands, side, self.hidden_dims, self.n_latent, self.output_activation
            )
        (n_features,) = self.sample_shape
        return DenseDecoder(
            n_features, self.hidden_dims, self.n_latent, self.output_activation
        )

    @property
    def is_convolutional(self) -> bool:
        """Whether this VAE works on images (as opposed to vectors)."""
        return len(self.sample_shape) == 3

    def encode(self, x):
        """Return ``(mu, logvar)`` of the approximate posterior."""
        return self.encoder(x)

    def decode(self, z):
        """Decode latent vectors."""
        return self.decoder(z)

    def forward(self, x):
        """Encode, draw ``z`` (training) or take ``mu`` (eval), and decode.

        Returns
        -------
        x_hat, mu, logvar : torch.Tensor
        """
        mu, logvar = self.encode(x)
        return self.decode(self.latent_draw(mu, logvar)), mu, logvar

    #: ``(low, high, batch_rows)`` while training data-parallel: this process
    #: holds rows ``low:high`` of a global batch, and takes those rows of noise
    #: drawn for the whole batch, as one process would (skgalvae.nn.distributed).
    noise_rows = None

    def latent_draw(self, mu, logvar):
        """Draw ``z ~ N(mu, exp(logvar))`` when training (reparameterised), else mu."""
        if self.training:
            return mu + self._standard_noise(mu) * torch.exp(0.5 * logvar)
        return mu

    def _standard_noise(self, mu):
        if self.noise_rows is None:
            return torch.randn_like(mu)
        low, high, batch_rows = self.noise_rows
        shape = (batch_rows, *mu.shape[1:])
        return torch.randn(shape, dtype=mu.dtype, device=mu.device)[low:high]


class DomainAdaptedVAEModule(VAEModule):
    """A VAE with one shared encoder and one decoder per survey (study Fig. 6).

    ``decoder`` reconstructs source-survey images and ``target_decoder``
    target-survey ones; both read the same latent space. Called with one batch
    it behaves exactly as :class:`VAEModule` on the source side, so encoding,
    reconstruction monitors and SSIM work unchanged.

    Parameters
    ----------
    sample_shape, n_latent, hidden_dims, output_activation
        As for :class:`VAEModule`.
    """

    def __init__(
        self,
        sample_shape,
        n_latent,
        hidden_dims=(32, 64, 128),
        output_activation="relu",
    ):
        super().__init__(sample_shape, n_latent, hidden_dims, output_activation)
        self.target_decoder = self.make_decoder()

    def decode(self, z, domain="source"):
        """Decode latent vectors with the ``"source"`` or ``"target"`` decoder."""
        if domain == "source":
            return self.decoder(z)
        if domain == "target":
            return self.target_decoder(z)
        raise ValueError(f"domain must be 'source' or 'target'; got {domain!r}.")

    def load_vae_state(self, state_dict):
        """Start from a trained VAE without changing it.

        A :class:`VAEModule` state (the study's protocol: fine-tune the
        source-survey VAE) gives both decoders its decoder; a
        :class:`DomainAdaptedVAEModule` state is loaded as it is, to continue
        adapting. The tensors are copied, never shared.

        Parameters
        ----------
        state_dict : dict
            ``state_dict()`` of a module of the same shapes.
        """
        state_dict = dict(state_dict)
        if not any(key.startswith("target_decoder.") for key in state_dict):
            state_dict.update(
                {
                    "target_decoder." + key[len("decoder.") :]: value
                    for key, value in state_dict.items()
                    if key.startswith("decoder.")
                }
            )
        self.load_state_dict(state_dict)

    def forward(self, x, x_target=None):
        """Run the source batch, and the target batch when given.

        Both batches go through the shared encoder as one batch, which keeps
        the device busy; each side is decoded by its own decoder.

        Returns
        -------
        tuple of torch.Tensor
            ``(x_hat, mu, logvar)`` for the source batch alone, followed by
            ``(x_hat_target, mu_target, logvar_target)`` when ``x_target`` is
            given.
        """
        if x_target is None:
            return super().forward(x)
        mu, logvar = self.encode(torch.cat([x, x_target]))
        z = self.latent_draw(mu, logvar)
        n = len(x)
        return (
            self.decoder(z[:n]),
            mu[:n],
            logvar[:n],
            self.target_decoder(z[n:]),
            mu[n:],
            logvar[n:],
        )


class GMMVAEModule(VAEModule):
    """A VAE whose prior is a learned mixture of diagonal Gaussians (VaDE).

    ``p(z) = sum_c pi_c N(z | mu_c, diag(sigma_c^2))``, with the mixture
    weights (as logits), means and log-variances as parameters trained with
    the encoder and decoder (Jiang et al. 2017).

    Parameters
    ----------
    sample_shape, n_latent, hidden_dims, output_activation
        As for :class:`VAEModule`.
    n_components : int, default=10
        Number of mixture components.
    """

    def __init__(
        self,
        sample_shape,
        n_latent,
        hidden_dims=(32, 64, 128),
        output_activation="relu",
        n_components=10,
    ):
        super().__init__(sample_shape, n_latent, hidden_dims, output_activation)
        self.n_components = int(n_components)
        self.prior_logits = nn.Parameter(torch.zeros(self.n_components))
        self.prior_means = nn.Parameter(torch.randn(self.n_components, self.n_latent))
        self.prior_logvars = nn.Parameter(torch.zeros(self.n_components, self.n_latent))

    def load_vae_state(self, state_dict):
        """Load a state that holds the prior as well as the VAE's weights.

        Parameters
        ----------
        state_dict : dict
            ``state_dict()`` of a :class:`VAEModule` of the same shapes plus
            ``prior_logits``, ``prior_means`` and ``prior_logvars`` (e.g. from
            a Gaussian mixture fitted on its latents).
        """
        self.load_state_dict(state_dict)

    def forward(self, x):
        """Encode, draw ``z``, decode; also return ``z`` and the prior.

        Returns
        -------
        x_hat, mu, logvar, z, prior_logits, prior_means, prior_logvars
            The criterion (:class:`~skgalvae.nn.GMMELBOLoss`) needs all.
        """
        mu, logvar = self.encode(x)
        z = self.latent_draw(mu, logvar)
        return (
            self.decode(z),
            mu,
            logvar,
            z,
            self.prior_logits,
            self.prior_means,
            self.prior_logvars,
        )
