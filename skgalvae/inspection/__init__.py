"""Looking inside a latent space.

:func:`latent_correlations` tabulates which latents track which physical
properties; :func:`latent_traversals` and :func:`interpolate_galaxies` decode
walks through the space (drawn by :mod:`skgalvae.plotting`);
:func:`similar_galaxies` finds the galaxies nearest to a query, in the
orientation-free latents of :func:`invariant_latents` or any others.
"""

from ._correlations import latent_correlations
from ._generation import interpolate_galaxies, latent_traversals
from ._invariance import invariant_latents
from ._similarity import similar_galaxies

__all__ = [
    "interpolate_galaxies",
    "invariant_latents",
    "latent_correlations",
    "latent_traversals",
    "similar_galaxies",
]
