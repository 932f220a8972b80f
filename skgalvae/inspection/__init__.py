"""Looking inside a latent space.

:func:`latent_correlations` tabulates which latents track which physical
properties; :func:`latent_traversals` and :func:`interpolate_galaxies` decode
walks through the space (drawn by :mod:`skgalvae.plotting`).
"""

from ._correlations import latent_correlations
from ._generation import interpolate_galaxies, latent_traversals

__all__ = ["interpolate_galaxies", "latent_correlations", "latent_traversals"]
