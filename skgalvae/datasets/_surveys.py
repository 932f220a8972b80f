"""Observing conditions of the DESI Legacy Imaging Surveys, per band.

Typical (median) values, rounded, after Dey et al. (2019, AJ 157, 168: the
Legacy Surveys overview, Sec. 2-4) and Zou et al. (2017, PASP 129, 064101 for
BASS; 2019, ApJS 245, 4 for BASS/MzLS DR). Pixel scales are Table 1 of the
study (Xu et al. 2023): DECam and MzLS 0.262"/px, BASS's 90Prime 0.454"/px.
The depths are 5-sigma point-source AB magnitudes; BASS+MzLS is shallower and
has broader seeing than DECaLS in g and r, which is the domain shift the study
adapts across. The electrons-per-nanomaggy figures set the source shot noise
only; they are order-of-magnitude values for the coadds (aperture, exposure
time and passes), not calibrations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDS = ("g", "r", "z")


@dataclass(frozen=True)
class Survey:
    """Per-band observing conditions of one survey (bands g, r, z).

    Attributes
    ----------
    name : str
        Survey key, e.g. ``"decals"``.
    description : str
        Telescopes and cameras.
    native_pixel_scale : tuple of float
        Native pixel scale per band, arcsec per pixel.
    seeing_fwhm : tuple of float
        Median PSF full width at half maximum per band, arcsec.
    depth : tuple of float
        Median 5-sigma point-source depth per band, AB magnitude.
    electrons_per_nanomaggy : tuple of float
        Detected electrons per nanomaggy in the coadd, per band.
    seeing_scatter : float
        Log-normal scatter of the seeing from galaxy to galaxy (dex).
    depth_scatter : float
        Gaussian scatter of the depth from galaxy to galaxy (mag).
    """

    name: str
    description: str
    native_pixel_scale: tuple
    seeing_fwhm: tuple
    depth: tuple
    electrons_per_nanomaggy: tuple
    seeing_scatter: float = 0.05
    depth_scatter: float = 0.2

    def point_source_sigma(self, depth) -> np.ndarray:
        """One-sigma point-source flux error in nanomaggies for given depths."""
        return 10.0 ** ((22.5 - np.asarray(depth)) / 2.5) / 5.0


SURVEYS = {
    "decals": Survey(
        name="decals",
        description="DECaLS: Blanco 4-m / DECam, g, r, z",
        native_pixel_scale=(0.262, 0.262, 0.262),
        seeing_fwhm=(1.29, 1.18, 1.11),
        depth=(24.0, 23.4, 22.5),
        electrons_per_nanomaggy=(3000.0, 4000.0, 3000.0),
    ),
    "bass_mzls": Survey(
        name="bass_mzls",
        description="BASS: Bok 2.3-m / 90Prime, g, r; MzLS: Mayall 4-m / Mosaic-3, z",
        native_pixel_scale=(0.454, 0.454, 0.262),
        seeing_fwhm=(1.61, 1.47, 1.01),
        depth=(23.65, 23.1, 22.6),
        electrons_per_nanomaggy=(1000.0, 1300.0, 2500.0),
    ),
}


def get_survey(survey) -> Survey:
    """Look up a survey by name (or pass a :class:`Survey` through).

    Parameters
    ----------
    survey : str or Survey
        ``"decals"`` or ``"bass_mzls"``, or a custom :class:`Survey`.

    Returns
    -------
    Survey
    """
    if isinstance(survey, Survey):
        return survey
    if survey not in SURVEYS:
        raise ValueError(
            f"Unknown survey {survey!r}; choose one of {sorted(SURVEYS)} or pass "
            "a skgalvae.datasets.Survey."
        )
    return SURVEYS[survey]
