"""The ``skgalvae`` command: ``study``, ``encode`` and ``neighbours``.

``skgalvae study`` reproduces Xu et al. (2023) end to end and writes a
report; ``skgalvae encode`` streams a survey through a fitted model into a
latent table (:func:`skgalvae.survey.encode_survey`); ``skgalvae neighbours``
finds the galaxies most like given ones in such a table
(:func:`skgalvae.inspection.similar_galaxies`).
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]
