"""Torch modules of the VAE: one encoder, one or more decoders, a prior.

Everything here is plain :mod:`torch`; the estimator layer builds these from
primitive configuration values so a fitted model can be stored as tensors plus
config and rebuilt anywhere. The encoders and decoders themselves come from
the registry in :mod:`skgalvae.nn.architectures`.
"""

from __future__ import annotations

import torch
from torch import nn

from .architectures import (
    ConvDecoder,
    ConvEncoder,
    DenseDecoder,
    DenseEncoder,
    build_decoder,
    build_encoder,
    conv_downsampling_factor,
)

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "DenseDecoder",
    "DenseEncoder",
    "DomainAdaptedVAEModule",
    "GMMVAEModule",
    "VAEModule",
    "conv_downsampling_factor",
]


class VAEModule(nn.Module):
    """Variational autoencoder over images ``(C, H, W)`` or vectors ``(F,)``.

    A three-element ``sample_shape`` builds a convolutional VAE of the named
    ``architecture``, a one-element one a dense VAE. All arguments are plain
    Python values, so the module can be rebuilt from its config and a state
    dict.

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
    architecture : str, default="xu2023"
        A key of :data:`skgalvae.nn.architectures.ARCHITECTURES`.
    """

    def __init__(
        self,
        sample_shape,
        n_latent,
        hidden_dims=(32, 64, 128),
        output_activation="relu",
        architecture="xu2023",
    ):
        super().__init__()
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.n_latent = int(n_latent)
        self.hidden_dims = tuple(int(h) for h in hidden_dims)
        self.output_activation = output_activation
        self.architecture = architecture
        if len(self.sample_shape) not in (1, 3):
            raise ValueError(
                f"sample_shape must be (bands, side, side) or (n_features,); "
                f"got {self.sample_shape}."
            )
        self.encoder = build_encoder(
            architecture, self.sample_shape, self.hidden_dims, self.n_latent
        )
        self.decoder = self.make_decoder()

    def make_decoder(self):
        """Build a new, freshly initialised decoder for this VAE's shapes."""
        return build_decoder(
            self.architecture,
            self.sample_shape,
            self.hidden_dims,
            self.n_latent,
            self.output_activation,
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

    def forward(self, x, x_view=None, noise=None):
        """Encode, draw ``z`` (training) or take ``mu`` (eval), and decode.

        Parameters
        ----------
        x : torch.Tensor
            A batch.
        x_view : torch.Tensor or None, default=None
            Augmented views of the batch's images (the consistency term),
            encoded with it; not decoded.
        noise : torch.Tensor of shape (len(x), n_latent) or None, default=None
            Standard normal noise of the reparameterised draw while training
            (:meth:`latent_noise`); None draws it from torch's global
            generator.

        Returns
        -------
        x_hat, mu, logvar : torch.Tensor
            Followed by the views' ``mu, logvar`` when ``x_view`` is given.
        """
        mu, logvar, view = self.encode_with_view(x, x_view)
        return (self.decode(self.latent_draw(mu, logvar, noise)), mu, logvar, *view)

    def encode_with_view(self, x, x_view=None):
        """Return ``(mu, logvar, view)``: ``view`` is the views' ``(mu, logvar)``.

        ``view`` is empty without ``x_view``. Images and views go through the
        encoder as one batch.
        """
        if x_view is None:
            return (*self.encode(x), ())
        mu, logvar = self.encode(torch.cat([x, x_view.to(x.dtype)]))
        n = len(x)
        return mu[:n], logvar[:n], (mu[n:], logvar[n:])

    def latent_draw(self, mu, logvar, noise=None):
        """Draw ``z ~ N(mu, exp(logvar))`` when training (reparameterised), else mu.

        ``noise`` is the standard normal draw (:meth:`latent_noise`); None
        draws it here from torch's global generator.
        """
        if not self.training:
            return mu
        if noise is None:
            noise = torch.randn_like(mu)
        return mu + noise.to(mu.dtype) * torch.exp(0.5 * logvar)

    def latent_noise(self, x, rows=None, generator=None):
        """Draw the standard normal noise that :meth:`forward` takes as ``noise``.

        The training step draws it outside the module, so that a compiled
        module holds no random draw of its own (a generator in the graph
        breaks it) and a data-parallel fit draws as one process would.

        Parameters
        ----------
        x : torch.Tensor
            The batch that :meth:`forward` gets (images and views are not
            counted twice: the views are not decoded).
        rows : tuple of (int, int, int) or None, default=None
            ``(low, high, batch_rows)`` while training data-parallel: ``x`` is
            rows ``low:high`` of a global batch, and gets those rows of a
            draw for the whole batch.
        generator : torch.Generator or None, default=None
            Generator on the batch's device; None uses torch's global one.

        Returns
        -------
        torch.Tensor of shape (len(x), n_latent), float32
        """
        low, high, batch_rows = rows or (0, len(x), len(x))
        noise = torch.randn(
            (batch_rows, self.n_latent), device=x.device, generator=generator
        )
        return noise[low:high]


class DomainAdaptedVAEModule(VAEModule):
    """A VAE with one shared encoder and one decoder per survey (study Fig. 6).

    ``decoder`` reconstructs the first survey's images (the source),
    ``target_decoder`` the second's, and ``extra_decoders[i]`` those of survey
    ``i + 2``; all read the same latent space. Called with one batch it
    behaves exactly as :class:`VAEModule` on the first survey, so encoding,
    reconstruction monitors and SSIM work unchanged.

    Parameters
    ----------
    sample_shape, n_latent, hidden_dims, output_activation, architecture
        As for :class:`VAEModule`.
    n_domains : int, default=2
        Number of surveys, so of decoders.
    """

    def __init__(
        self,
        sample_shape,
        n_latent,
        hidden_dims=(32, 64, 128),
        output_activation="relu",
        architecture="xu2023",
        n_domains=2,
    ):
        super().__init__(
            sample_shape, n_latent, hidden_dims, output_activation, architecture
        )
        if n_domains < 2:
            raise ValueError(f"n_domains must be at least 2; got {n_domains}.")
        self.n_domains = n_domains
        self.target_decoder = self.make_decoder()
        self.extra_decoders = nn.ModuleList(
            self.make_decoder() for _ in range(n_domains - 2)
        )

    @property
    def decoders(self):
        """Every survey's decoder, in domain order."""
        return [self.decoder, self.target_decoder, *self.extra_decoders]

    def decode(self, z, domain="source"):
        """Decode latent vectors with one survey's decoder.

        ``domain`` is ``"source"`` (survey 0), ``"target"`` (survey 1) or the
        survey's index.
        """
        index = {"source": 0, "target": 1}.get(domain, domain)
        if not isinstance(index, int) or not 0 <= index < self.n_domains:
            raise ValueError(
                f"domain must be 'source', 'target' or a survey index in "
                f"0..{self.n_domains - 1}; got {domain!r}."
            )
        return self.decoders[index](z)

    def load_vae_state(self, state_dict):
        """Start from a trained VAE without changing it.

        A :class:`VAEModule` state (the study's protocol: fine-tune the
        source-survey VAE) gives every decoder its decoder; a
        :class:`DomainAdaptedVAEModule` state of as many surveys is loaded as
        it is, to continue adapting. The tensors are copied, never shared.

        Parameters
        ----------
        state_dict : dict
            ``state_dict()`` of a module of the same shapes.
        """
        state_dict = dict(state_dict)
        if not any(key.startswith("target_decoder.") for key in state_dict):
            decoder = {
                key[len("decoder.") :]: value
                for key, value in state_dict.items()
                if key.startswith("decoder.")
            }
            prefixes = ["target_decoder."] + [
                f"extra_decoders.{i}." for i in range(self.n_domains - 2)
            ]
            for prefix in prefixes:
                state_dict.update({prefix + k: v for k, v in decoder.items()})
        self.load_state_dict(state_dict)

    def _batches(self, x, x_target, more):
        return [x, x_target] + [more[f"x_{d}"] for d in range(2, self.n_domains)]

    def latent_noise(self, x, rows=None, generator=None, x_target=None, **more):
        """Draw the noise of :meth:`forward`: every survey's batch in turn.

        As :meth:`VAEModule.latent_noise`, drawn per survey, so that the
        data-parallel shards of each survey's batch take their rows of one
        draw; the surveys' noise is concatenated in domain order.
        """
        if x_target is None:
            return super().latent_noise(x, rows, generator)
        batches = self._batches(x, x_target, more)
        return torch.cat(
            [VAEModule.latent_noise(self, b, rows, generator) for b in batches]
        )

    def forward(self, x, x_target=None, noise=None, **more):
        """Run the first survey's batch, and every other survey's when given.

        All batches go through the shared encoder as one batch, which keeps
        the device busy; each is decoded by its survey's decoder.

        Parameters
        ----------
        x : torch.Tensor
            The first survey's batch.
        x_target : torch.Tensor, optional
            The second survey's batch.
        noise : torch.Tensor or None, default=None
            The reparameterisation noise of every survey's batch, concatenated
            (:meth:`latent_noise`); None draws it from torch's global
            generator.
        **more : torch.Tensor
            Batches of surveys 2, 3, ... as ``x_2``, ``x_3``, ...

        Returns
        -------
        tuple of torch.Tensor
            ``(x_hat, mu, logvar)`` for the first batch alone, or those of
            every survey in turn.
        """
        if x_target is None:
            return super().forward(x, noise=noise)
        batches = self._batches(x, x_target, more)
        mu, logvar = self.encode(torch.cat(batches))
        z = self.latent_draw(mu, logvar, noise)
        out, start = [], 0
        for decoder, batch in zip(self.decoders, batches, strict=True):
            rows = slice(start, start + len(batch))
            out += [decoder(z[rows]), mu[rows], logvar[rows]]
            start = rows.stop
        return tuple(out)


class GMMVAEModule(VAEModule):
    """A VAE whose prior is a learned mixture of diagonal Gaussians (VaDE).

    ``p(z) = sum_c pi_c N(z | mu_c, diag(sigma_c^2))``, with the mixture
    weights (as logits), means and log-variances as parameters trained with
    the encoder and decoder (Jiang et al. 2017).

    Parameters
    ----------
    sample_shape, n_latent, hidden_dims, output_activation, architecture
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
        architecture="xu2023",
        n_components=10,
    ):
        super().__init__(
            sample_shape, n_latent, hidden_dims, output_activation, architecture
        )
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

    def forward(self, x, x_view=None, noise=None):
        """Encode, draw ``z``, decode; also return ``z`` and the prior.

        Returns
        -------
        x_hat, mu, logvar, z, prior_logits, prior_means, prior_logvars
            The criterion (:class:`~skgalvae.nn.GMMELBOLoss`) needs all;
            followed by the views' ``mu, logvar`` when ``x_view`` is given
            (see :meth:`VAEModule.forward`, also for ``noise``).
        """
        mu, logvar, view = self.encode_with_view(x, x_view)
        z = self.latent_draw(mu, logvar, noise)
        return (
            self.decode(z),
            mu,
            logvar,
            z,
            self.prior_logits,
            self.prior_means,
            self.prior_logvars,
            *view,
        )
