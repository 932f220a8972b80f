"""Observing conditions of the DESI Legacy Imaging Surveys, per band.

Typical (median) values, rounded. Seeing after Dey et al. (2019, AJ 157,
168: the Legacy Surveys overview) for DECaLS and the BASS DR2 single-epoch
medians (Zou et al. 2019) for BASS+MzLS. Depths are 5-sigma point-source AB
magnitudes: DECaLS's design depths (g = 24.7, r = 23.9, z = 23.0; the
survey's description at legacysurvey.org; its better-known 24.0, 23.4, 22.5
are for a 0.45" exponential galaxy, not a point source), and BASS+MzLS's
measured medians (Zou et al. 2019, ApJS 245, 4: 24.2, 23.6, 23.0). Five
real DECaLS cutouts measured with ``benchmarks/bench_sky_realism.py`` give
median depths of 24.9, 24.4 and 23.4 (ranges 24.5-25.1, 24.0-24.7,
23.2-23.7): the design depths sit at or just below that spread. Pixel scales are
Table 1 of the study (Xu et al. 2023): DECam and MzLS 0.262"/px, BASS's
90Prime 0.454"/px. BASS+MzLS is shallower and has broader seeing than DECaLS
in g and r, which is the domain shift the study adapts across. The
electrons-per-nanomaggy figures set the source shot noise
only; they are order-of-magnitude values for the coadds (aperture, exposure
time and passes), not calibrations. Bright stars scatter light into broad
halos in both surveys, more with the Bok telescope's 90Prime, which also shows
ring-shaped reflections ("pupil ghosts") next to bright stars; the halo and
ghost parameters are illustrative, chosen so that star-contaminated cutouts
differ most between the surveys, as the study found (its Fig. 5). So is the
sky-subtraction residual, larger for BASS+MzLS, whose sky subtraction around
bright galaxies was harder (Dey et al. 2019, Sec. 6).
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
    star_halo_fraction : float
        Fraction of a bright star's light scattered into a broad halo.
    star_halo_fwhm : float
        FWHM of that halo (a Moffat profile with beta = 2), arcsec.
    ghost_fraction : float
        Fraction of a bright star's light in an out-of-focus reflection (a
        ring, "pupil ghost") offset from the star; 0 for none.
    ghost_radius : float
        Radius of the ghost ring, arcsec.
    ghost_offset : float
        Distance of the ghost's centre from the star, arcsec.
    sky_residual : float
        Typical amplitude of what sky subtraction leaves behind (an offset and
        a gradient across the cutout), in units of the sky noise of one
        native pixel.
    """

    name: str
    description: str
    native_pixel_scale: tuple
    seeing_fwhm: tuple
    depth: tuple
    electrons_per_nanomaggy: tuple
    seeing_scatter: float = 0.05
    depth_scatter: float = 0.2
    star_halo_fraction: float = 0.03
    star_halo_fwhm: float = 8.0
    ghost_fraction: float = 0.0
    ghost_radius: float = 6.0
    ghost_offset: float = 10.0
    sky_residual: float = 0.05

    def point_source_sigma(self, depth) -> np.ndarray:
        """One-sigma point-source flux error in nanomaggies for given depths."""
        return 10.0 ** ((22.5 - np.asarray(depth)) / 2.5) / 5.0


SURVEYS = {
    "decals": Survey(
        name="decals",
        description="DECaLS: Blanco 4-m / DECam, g, r, z",
        native_pixel_scale=(0.262, 0.262, 0.262),
        seeing_fwhm=(1.29, 1.18, 1.11),
        depth=(24.7, 23.9, 23.0),
        electrons_per_nanomaggy=(3000.0, 4000.0, 3000.0),
    ),
    "bass_mzls": Survey(
        name="bass_mzls",
        description="BASS: Bok 2.3-m / 90Prime, g, r; MzLS: Mayall 4-m / Mosaic-3, z",
        native_pixel_scale=(0.454, 0.454, 0.262),
        seeing_fwhm=(1.61, 1.47, 1.01),
        depth=(24.2, 23.6, 23.0),
        electrons_per_nanomaggy=(1000.0, 1300.0, 2500.0),
        seeing_scatter=0.08,
        star_halo_fraction=0.1,
        star_halo_fwhm=12.0,
        ghost_fraction=0.04,
        sky_residual=0.25,
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
