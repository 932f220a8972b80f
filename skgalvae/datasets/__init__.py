"""Built-in data: simulated survey cutouts and loaders for real data.

Nothing here downloads anything: :func:`make_galaxies` and
:func:`make_survey_pairs` render galaxies from physical models, and the
loaders read files the user already has.
"""

from ._blobs import make_blobs_images
from ._galaxies import make_galaxies, make_survey_pairs
from ._gz_desi import GZ1_CLASSES, load_gz_desi
from ._surveys import BANDS, SURVEYS, Survey

__all__ = [
    "BANDS",
    "GZ1_CLASSES",
    "SURVEYS",
    "Survey",
    "load_gz_desi",
    "make_blobs_images",
    "make_galaxies",
    "make_survey_pairs",
]
