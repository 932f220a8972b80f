"""Built-in data: simulated survey cutouts, and loaders and fetchers of real data.

:func:`make_galaxies` and :func:`make_survey_pairs` render galaxies from
physical models, offline. :func:`load_gz_desi` reads files the user already
has. :func:`fetch_gz_decals` downloads the study's own Galaxy Zoo DECaLS
cutouts and votes once into :func:`get_data_home` (checksums checked) and
reads them from there afterwards.
"""

from ._blobs import make_blobs_images
from ._fetch import get_data_home
from ._galaxies import make_galaxies, make_survey_pairs
from ._gz_decals import fetch_gz_decals
from ._gz_desi import GZ1_CLASSES, load_gz_desi
from ._surveys import BANDS, SURVEYS, Survey

__all__ = [
    "BANDS",
    "GZ1_CLASSES",
    "SURVEYS",
    "Survey",
    "fetch_gz_decals",
    "get_data_home",
    "load_gz_desi",
    "make_blobs_images",
    "make_galaxies",
    "make_survey_pairs",
]
