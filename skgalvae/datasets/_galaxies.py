"""The built-in galaxy simulator: one population, rendered by one or two surveys."""

from __future__ import annotations

import zlib
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._population import draw_contamination, draw_population
from ._render import render
from ._surveys import BANDS, SURVEYS, Survey, get_survey
from ._votes import simulate_votes

STUDY_FIELD_ARCSEC = 256 * 0.262  # the study's 256-pixel DECaLS cutouts


def _simulate(
    n_samples,
    surveys,
    image_size,
    pixel_scale,
    star_fraction,
    defect_fraction,
    random_state,
):
    """Draw one population and render it once per survey, as Bunches.

    The population has its own generator; each rendering has one seeded by
    (root seed, visit, survey name), visits counting from 1. So the first
    visit of ``make_survey_pairs`` equals ``make_galaxies`` with the same seed,
    and a survey paired with itself gets independent seeing, noise and
    defects.
    """
    if pixel_scale is None:
        pixel_scale = STUDY_FIELD_ARCSEC / image_size
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    rng = np.random.default_rng([seed, 0])
    labels, params = draw_population(n_samples, rng)
    draw_contamination(params, star_fraction, rng)
    votes = simulate_votes(labels, params, rng)
    bunches = []
    for visit, survey in enumerate(map(get_survey, surveys), start=1):
        images, observed = render(
            params,
            survey,
            image_size=image_size,
            pixel_scale=pixel_scale,
            defect_fraction=defect_fraction,
            rng=np.random.default_rng([seed, visit, zlib.crc32(survey.name.encode())]),
        )
        bunches.append(
            Bunch(
                images=images,
                labels=labels,
                votes=votes,
                params=pd.concat([params, observed], axis=1),
                survey=survey.name,
                bands=BANDS,
                pixel_scale=pixel_scale,
            )
        )
    return tuple(bunches)


_COMMON_CONSTRAINTS = {
    "n_samples": [Interval(Integral, 1, None, closed="left")],
    "image_size": [Interval(Integral, 8, None, closed="left")],
    "pixel_scale": [Interval(Real, 0, None, closed="neither"), None],
    "star_fraction": [Interval(Real, 0, 1, closed="both")],
    "defect_fraction": [Interval(Real, 0, 1, closed="both")],
    "random_state": ["random_state"],
}


@validate_params(
    {**_COMMON_CONSTRAINTS, "survey": [StrOptions(set(SURVEYS)), Survey]},
    prefer_skip_nested_validation=True,
)
def make_galaxies(
    n_samples: int,
    *,
    image_size: int = 64,
    survey: str | Survey = "decals",
    pixel_scale: float | None = None,
    star_fraction: float = 0.05,
    defect_fraction: float = 0.01,
    random_state=None,
) -> Bunch:
    """Simulate g, r, z galaxy cutouts with Galaxy Zoo DECaLS labels.

    Each galaxy's morphology is drawn down the GZD-5 decision tree (the
    study's Table 2): smooth galaxies (round, in-between, cigar-shaped Sersic
    profiles) or disks, either edge-on (rounded, boxy or no bulge, with a dust
    lane) or not (no, weak or strong bar; spiral arms or not, with 1-4
    logarithmic arms wound tight, medium or loose; no, small, moderate or large
    bulge); independently 12% are mergers (an overlapping companion, or tidal
    tails). Bulges are red, disks bluer and arms bluest. A fraction of the
    cutouts has a bright foreground star and a rarer fraction an instrumental
    defect (a saturated column or masked rows), for outlier detection.

    The survey sets the observing conditions (``skgalvae.datasets.SURVEYS``):
    median PSF FWHM, depth and native pixel scale per band, after Dey et al.
    (2019, AJ 157, 168) and Zou et al. (2019, ApJS 245, 4). DECaLS
    (g, r, z at 0.262"/px): seeing 1.29", 1.18", 1.11"; 5-sigma point-source
    depth 24.7, 23.9, 23.0. BASS+MzLS: g, r at 0.454"/px resampled to the
    cutout's pixels, seeing 1.61", 1.47", z 1.01"; depth 24.2, 23.6, 23.0.
    Images are convolved with a Moffat PSF of the galaxy's seeing (drawn around
    the median), then get sky noise at the depth and source shot noise.

    Parameters
    ----------
    n_samples : int
        Number of galaxies.
    image_size : int, default=64
        Side of the square cutouts, in pixels.
    survey : {"decals", "bass_mzls"} or Survey, default="decals"
        Observing conditions.
    pixel_scale : float, default=None
        Arcsec per cutout pixel. By default the cutout covers the study's
        field, 256 DECaLS pixels (67"), at any ``image_size``: the study's
        images resampled to ``image_size``. Galaxies have half-light radii of
        4.5-10" whatever the scale.
    star_fraction : float, default=0.05
        Probability that a cutout has a bright foreground star.
    defect_fraction : float, default=0.01
        Probability that a cutout has an instrumental defect.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same images.

    Returns
    -------
    Bunch
        Dictionary-like, with the attributes:

        images : ndarray of shape (n_samples, 3, image_size, image_size)
            float32, nanomaggies per pixel (sky-subtracted, so noise makes some
            pixels negative); bands g, r, z.
        labels : pandas.DataFrame
            True class per GZD-5 question (categorical), missing where the
            question does not apply.
        votes : pandas.DataFrame
            Simulated volunteer vote fractions with the public GZ DECaLS
            column names; :func:`skgalvae.labels.gzd5_labels` turns them into
            labels.
        params : pandas.DataFrame
            True physical parameters (sizes in arcsec), the foreground star,
            the seeing and depth of each cutout, and its ``defect``.
        survey : str
            The survey's name.
        bands : tuple of str
            ``("g", "r", "z")``.
        pixel_scale : float
            Arcseconds per pixel.

    See Also
    --------
    make_survey_pairs : The same galaxies seen by both surveys.

    Examples
    --------
    >>> from skgalvae.datasets import make_galaxies
    >>> data = make_galaxies(20, random_state=0)
    >>> data.images.shape, data.images.dtype
    ((20, 3, 64, 64), dtype('float32'))
    >>> list(data.labels.columns)[:3]
    ['how_rounded', 'edge_on', 'bulge_shape']
    """
    (bunch,) = _simulate(
        n_samples,
        [survey],
        image_size,
        pixel_scale,
        star_fraction,
        defect_fraction,
        random_state,
    )
    return bunch


@validate_params(
    {
        **_COMMON_CONSTRAINTS,
        "source": [StrOptions(set(SURVEYS)), Survey],
        "target": [StrOptions(set(SURVEYS)), Survey],
    },
    prefer_skip_nested_validation=True,
)
def make_survey_pairs(
    n_samples: int,
    *,
    image_size: int = 64,
    source: str | Survey = "decals",
    target: str | Survey = "bass_mzls",
    pixel_scale: float | None = None,
    star_fraction: float = 0.05,
    defect_fraction: float = 0.01,
    random_state=None,
) -> tuple:
    """Simulate the same galaxies seen by two surveys: the paired DA setting.

    One population (morphology, sizes, colours, foreground stars) is drawn and
    rendered twice, with each survey's PSF, pixels, depth and noise, as the
    study's 3,434 galaxies in the DECaLS / BASS+MzLS overlap. Instrumental
    defects are drawn per survey. Parameters are those of
    :func:`make_galaxies`.

    Parameters
    ----------
    n_samples : int
        Number of galaxies.
    image_size : int, default=64
        Side of the square cutouts, in pixels.
    source, target : {"decals", "bass_mzls"} or Survey
        The two surveys; DECaLS and BASS+MzLS by default.
    pixel_scale : float, default=None
        Arcsec per cutout pixel; see :func:`make_galaxies`.
    star_fraction : float, default=0.05
        Probability that a galaxy has a bright foreground star (in both).
    defect_fraction : float, default=0.01
        Probability of an instrumental defect per image, per survey.
    random_state : int, RandomState instance or None, default=None
        Seed. The source bunch equals ``make_galaxies`` with the same seed
        and ``survey=source``.

    Returns
    -------
    source, target : Bunch
        As returned by :func:`make_galaxies`, with aligned rows: row ``i`` of
        both is the same galaxy, with the same ``labels`` and ``votes``. With
        ``source == target`` the two are independent observations (seeing,
        noise, defects) of the same galaxies by one survey: the noise floor
        of any paired comparison.

    Examples
    --------
    >>> from skgalvae.datasets import make_survey_pairs
    >>> decals, bass = make_survey_pairs(8, random_state=0)
    >>> decals.survey, bass.survey, bass.images.shape
    ('decals', 'bass_mzls', (8, 3, 64, 64))
    """
    return _simulate(
        n_samples,
        [source, target],
        image_size,
        pixel_scale,
        star_fraction,
        defect_fraction,
        random_state,
    )
