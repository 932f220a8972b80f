"""Torch modules of the VAE: one encoder, one or more decoders, a prior.

Everything here is plain :mod:`torch`; the estimator layer builds these from
primitive configuration values so a fitted model can be stored as tensors plus
config and rebuilt anywhere. The encoders and decoders themselves come from
the registry in :mod:`skgalvae.nn.architectures`.
"""

from __future__ import annotations

import torch
from torch import nn

from .architectures import build_decoder, build_encoder
from .domain_data import domain_batches

__all__ = ["DomainAdaptedVAEModule", "GMMVAEModule", "VAEModule"]

#: What ``DomainAdaptedVAEModule(anchor=...)`` may hold fixed.
ANCHORS = (None, "source", "decoder", "latents")
#: The anchors that give every survey but the first an encoder of its own.
SEPARATE_ENCODER_ANCHORS = ("source", "decoder")


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
        self.encoder = self.make_encoder()
        self.decoder = self.make_decoder()

    def make_encoder(self):
        """Build a new, freshly initialised encoder for this VAE's shapes."""
        return build_encoder(
            self.architecture, self.sample_shape, self.hidden_dims, self.n_latent
        )

    def make_decoder(self):
        """Build a new, freshly initialised decoder for this VAE's shapes."""
        return build_decoder(
            self.architecture,
            self.sample_shape,
            self.hidden_dims,
            self.n_latent,
            self.output_activation,
        )

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
    """A VAE with one decoder per survey and a shared or anchored encoder.

    ``decoder`` reconstructs the first survey's images (the source) and
    ``domain_decoders[d - 1]`` those of survey ``d``; all read the same latent
    space. Called with one batch it
    behaves exactly as :class:`VAEModule` on the first survey, so encoding,
    reconstruction monitors and SSIM work unchanged.

    With ``anchor=None`` every survey goes through the one ``encoder`` (study
    Fig. 6). With ``anchor="source"`` the first survey's ``encoder`` and
    ``decoder`` are frozen (no gradient, always in eval mode) and every other
    survey ``d`` gets an encoder of its own, ``domain_encoders[d - 1]``: the
    other surveys are brought to a source latent space that does not move.
    ``anchor="decoder"`` freezes every decoder as well: each survey's
    encoder learns to describe its images in the terms the source decoder
    draws from. ``anchor="latents"`` keeps one shared ``encoder``, trained
    on every survey, and a frozen copy of it, ``anchor_encoder``, whose
    latent means of the first survey's batch (returned after the surveys'
    outputs) the loss holds the shared encoder's to; the first survey's
    ``decoder`` is frozen.

    Parameters
    ----------
    sample_shape, n_latent, hidden_dims, output_activation, architecture
        As for :class:`VAEModule`.
    n_domains : int, default=2
        Number of surveys, so of decoders.
    anchor : {None, "source", "decoder", "latents"}, default=None
        Whether the first survey's encoder and decoder (``"source"``), or
        its encoder and every decoder (``"decoder"``), are frozen, with one
        trained encoder per other survey; or (``"latents"``) the encoder is
        shared and a frozen copy of it gives the first survey's latents to
        hold.
    """

    def __init__(
        self,
        sample_shape,
        n_latent,
        hidden_dims=(32, 64, 128),
        output_activation="relu",
        architecture="xu2023",
        n_domains=2,
        anchor=None,
    ):
        super().__init__(
            sample_shape, n_latent, hidden_dims, output_activation, architecture
        )
        if n_domains < 2:
            raise ValueError(f"n_domains must be at least 2; got {n_domains}.")
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}; got {anchor!r}.")
        self.n_domains = n_domains
        self.anchor = anchor
        self.domain_decoders = nn.ModuleList(
            self.make_decoder() for _ in range(n_domains - 1)
        )
        separate = anchor in SEPARATE_ENCODER_ANCHORS
        self.domain_encoders = nn.ModuleList(
            self.make_encoder() for _ in range(n_domains - 1 if separate else 0)
        )
        self.anchor_encoder = self.make_encoder() if anchor == "latents" else None
        for part in self._frozen_parts():
            part.requires_grad_(False)

    def _frozen_parts(self):
        """Return the encoders and decoders that ``anchor`` holds fixed."""
        if self.anchor == "source":
            return [self.encoder, self.decoder]
        if self.anchor == "decoder":
            return [self.encoder, *self.decoders]
        if self.anchor == "latents":
            return [self.anchor_encoder, self.decoder]
        return []

    @property
    def decoders(self):
        """Every survey's decoder, in domain order."""
        return [self.decoder, *self.domain_decoders]

    @property
    def encoders(self):
        """Every survey's encoder, in domain order (one shared, or one each)."""
        if self.domain_encoders:
            return [self.encoder, *self.domain_encoders]
        return [self.encoder] * self.n_domains

    @property
    def adapted_encoder(self):
        """The encoder whose weights the adaptation trains (the second survey's)."""
        return self.encoders[1]

    def train(self, mode=True):
        """Set the training mode; an anchored source side stays in eval mode.

        Its normalisation statistics are the fitted source model's and must
        not follow the batches of the adaptation.
        """
        super().train(mode)
        for part in self._frozen_parts():
            part.eval()
        return self

    def _domain_index(self, domain):
        index = {"source": 0, "target": 1}.get(domain, domain)
        if not isinstance(index, int) or not 0 <= index < self.n_domains:
            raise ValueError(
                f"domain must be 'source', 'target' or a survey index in "
                f"0..{self.n_domains - 1}; got {domain!r}."
            )
        return index

    def encode(self, x, domain="source"):
        """Return ``(mu, logvar)`` of one survey's posterior.

        ``domain`` is ``"source"`` (survey 0), ``"target"`` (survey 1) or the
        survey's index; it only matters with an encoder per survey
        (``anchor="source"`` or ``"decoder"``).
        """
        return self.encoders[self._domain_index(domain)](x)

    def decode(self, z, domain="source"):
        """Decode latent vectors with one survey's decoder.

        ``domain`` is ``"source"`` (survey 0), ``"target"`` (survey 1) or the
        survey's index.
        """
        return self.decoders[self._domain_index(domain)](z)

    def load_vae_state(self, state_dict):
        """Start from a trained VAE without changing it.

        A :class:`VAEModule` state (the study's protocol: fine-tune the
        source-survey VAE) gives every decoder its decoder and every encoder
        (each survey's, the anchor's) its encoder; a
        :class:`DomainAdaptedVAEModule` state of as many surveys is loaded as
        it is, to continue adapting. The tensors are copied, never shared.

        Parameters
        ----------
        state_dict : dict
            ``state_dict()`` of a module of the same shapes.
        """
        state_dict = dict(state_dict)
        if not any(key.startswith("domain_decoders.") for key in state_dict):
            copies = {
                "decoder.": [
                    f"domain_decoders.{i}." for i in range(self.n_domains - 1)
                ],
                "encoder.": [
                    f"domain_encoders.{i}." for i in range(len(self.domain_encoders))
                ]
                + (["anchor_encoder."] if self.anchor_encoder is not None else []),
            }
            for part, prefixes in copies.items():
                weights = {
                    key[len(part) :]: value
                    for key, value in state_dict.items()
                    if key.startswith(part)
                }
                for prefix in prefixes:
                    state_dict.update({prefix + k: v for k, v in weights.items()})
        self.load_state_dict(state_dict)

    def latent_noise(self, x, rows=None, generator=None, **more):
        """Draw the noise of :meth:`forward`: every survey's batch in turn.

        As :meth:`VAEModule.latent_noise`, drawn per survey, so that the
        data-parallel shards of each survey's batch take their rows of one
        draw; the surveys' noise is concatenated in domain order.
        """
        if not more:
            return super().latent_noise(x, rows, generator)
        batches = domain_batches(x, more, self.n_domains)
        return torch.cat(
            [VAEModule.latent_noise(self, b, rows, generator) for b in batches]
        )

    def _encode_batches(self, batches):
        """Encode every survey's batch with its encoder; return ``(mu, logvar)``."""
        if not self.domain_encoders:
            # One shared encoder: one batch keeps the device busy.
            return self.encode(torch.cat(batches))
        with torch.no_grad():
            parts = [self.encoder(batches[0])]
        parts += [
            encoder(batch)
            for encoder, batch in zip(self.domain_encoders, batches[1:], strict=True)
        ]
        return (torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))

    def forward(self, x, *, noise=None, **more):
        """Run the first survey's batch, and every other survey's when given.

        Each batch goes through its survey's encoder (the shared one as one
        batch, which keeps the device busy) and is decoded by its survey's
        decoder.

        Parameters
        ----------
        x : torch.Tensor
            The first survey's batch.
        noise : torch.Tensor or None, default=None
            The reparameterisation noise of every survey's batch, concatenated
            (:meth:`latent_noise`); None draws it from torch's global
            generator.
        **more : torch.Tensor
            Batches of surveys 1, 2, ... as ``x_1``, ``x_2``, ...
            (:func:`~skgalvae.nn.domain_data.domain_key`).

        Returns
        -------
        tuple of torch.Tensor
            ``(x_hat, mu, logvar)`` for the first batch alone, or those of
            every survey in turn; with ``anchor="latents"``, then the frozen
            anchor encoder's latent means of the first survey's batch.
        """
        if not more:
            return super().forward(x, noise=noise)
        batches = domain_batches(x, more, self.n_domains)
        mu, logvar = self._encode_batches(batches)
        z = self.latent_draw(mu, logvar, noise)
        out, start = [], 0
        for decoder, batch in zip(self.decoders, batches, strict=True):
            rows = slice(start, start + len(batch))
            out += [decoder(z[rows]), mu[rows], logvar[rows]]
            start = rows.stop
        if self.anchor_encoder is not None:
            with torch.no_grad():
                out.append(self.anchor_encoder(batches[0])[0])
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
