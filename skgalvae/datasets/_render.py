"""Render a galaxy population as one survey sees it.

Each galaxy is a sum of components (bulge, disk, spiral arms, bar, dust lane,
companion, tidal tails, foreground star), each a unit-flux profile times a flux
per band. Profiles are evaluated with astropy's ``GeneralSersic2D.evaluate``,
which broadcasts over parameter arrays, so a whole chunk of galaxies is one
vectorised call per component; GalSim would render exactly but one object at a
time and is a heavy compiled dependency. The sum is convolved with a Moffat
PSF per galaxy and band by FFT on a padded grid (so a star near the edge
does not wrap around), smoothed by the native pixel where the survey's pixels
are coarser than the cutout's (BASS g, r resampled to 0.262"), and given sky
and source noise at the survey's depth. Defects are added last: they belong
to one exposure of one survey.

Units: nanomaggies per pixel (AB zero point 22.5), sky-subtracted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from astropy.modeling.functional_models import GeneralSersic2D

from ._surveys import Survey

MOFFAT_BETA = 3.0
DISK_HALF_LIGHT_PER_SCALE_LENGTH = 1.678  # exponential disk: r_eff = 1.678 h
_PIXELS_PER_CHUNK = 2**23


def band_fluxes(mag_r, g_r, r_z):
    """Flux in nanomaggies in g, r, z from an r magnitude and two colours.

    Returns an array of shape (n, 3).
    """
    mag_r, g_r, r_z = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (mag_r, g_r, r_z))
    )
    mags = np.stack([mag_r + g_r, mag_r, mag_r - r_z], axis=1)
    return 10.0 ** ((22.5 - mags) / 2.5)


def _unit(profile):
    """Normalise each (H, W) profile of a batch to unit sum (zeros stay zero)."""
    total = profile.sum(axis=(-2, -1), keepdims=True)
    return np.divide(profile, total, out=np.zeros_like(profile), where=total > 0)


def _col(values):
    return np.asarray(values, dtype=np.float64)[:, None, None]


class _Grid:
    """Pixel coordinates of a padded cutout, centred on each galaxy."""

    def __init__(self, size, pad, pixel_scale):
        self.size, self.pad, self.scale = size, pad, pixel_scale
        side = size + 2 * pad
        self.side = side
        coords = np.arange(side, dtype=np.float64) - (side - 1) / 2
        self.y, self.x = coords[None, :, None], coords[None, None, :]

    def offsets(self, dx_arcsec, dy_arcsec):
        return _col(dx_arcsec) / self.scale, _col(dy_arcsec) / self.scale

    def sersic(self, x0, y0, r_eff, n, axis_ratio, angle, boxiness=0.0):
        """Unit-flux Sersic profiles; lengths in pixels, shape (k, side, side)."""
        profile = GeneralSersic2D.evaluate(
            self.x,
            self.y,
            1.0,
            _col(r_eff),
            _col(n),
            x0,
            y0,
            1.0 - _col(axis_ratio),
            _col(angle),
            _col(boxiness) if np.ndim(boxiness) else boxiness,
        )
        return _unit(profile)

    def disk_plane(self, x0, y0, angle, cos_i):
        """Deprojected coordinates (radius, azimuth) in each galaxy's disk."""
        dx, dy = self.x - x0, self.y - y0
        c, s = np.cos(_col(angle)), np.sin(_col(angle))
        u = dx * c + dy * s
        v = (-dx * s + dy * c) / _col(cos_i)
        return u, v


def _spiral_arms(grid, x0, y0, sub):
    """Unit-flux logarithmic spiral arms on an exponential disk."""
    u, v = grid.disk_plane(x0, y0, sub["position_angle"], sub["cos_inclination"])
    radius = np.hypot(u, v)
    azimuth = np.arctan2(v, u)
    h = _col(sub["r_eff"]) / DISK_HALF_LIGHT_PER_SCALE_LENGTH / grid.scale
    start = _col(sub["arm_start"]) / grid.scale
    pitch = np.radians(_col(sub["arm_pitch_deg"]))
    winding = np.log(np.maximum(radius, start) / start) / np.tan(pitch)
    m = _col(sub["n_arms"])
    phase = azimuth - winding - _col(sub["arm_phase"])
    pattern = ((1 + np.cos(m * phase)) / 2) ** _col(sub["arm_sharpness"])
    taper = 1 - np.exp(-((radius / start) ** 2))
    return _unit(np.exp(-radius / h) * taper * pattern)


def _bar(grid, x0, y0, sub):
    """Unit-flux boxy bars, defined in the disk plane and projected."""
    u, v = grid.disk_plane(x0, y0, sub["position_angle"], sub["cos_inclination"])
    c, s = np.cos(_col(sub["bar_angle"])), np.sin(_col(sub["bar_angle"]))
    return _unit(
        GeneralSersic2D.evaluate(
            u * c + v * s,
            -u * s + v * c,
            1.0,
            _col(sub["bar_length"]) / grid.scale,
            0.5,
            0.0,
            0.0,
            1.0 - _col(sub["bar_axis_ratio"]),
            0.0,
            1.0,
        )
    )


def _tidal_tails(grid, x0, y0, sub):
    """Unit-flux pairs of curved tails: ridges along logarithmic spirals."""
    dx, dy = grid.x - x0, grid.y - y0
    radius = np.hypot(dx, dy)
    azimuth = np.arctan2(dy, dx)
    base = _col(sub["tidal_radius"]) / grid.scale
    span = _col(sub["tidal_span"])
    total = np.zeros(radius.shape)
    for start in (0.0, np.pi):  # two tails, on opposite sides
        along = np.mod(azimuth - _col(sub["tidal_angle"]) - start, 2 * np.pi)
        ridge = base * np.exp(0.35 * along)
        width = 0.25 * ridge
        window = np.where(along < span, np.sin(np.pi * along / span) ** 2, 0.0)
        total += np.exp(-0.5 * ((radius - ridge) / width) ** 2) * window / ridge
    return _unit(total)


def _moffat(r2, fwhm, beta):
    """Moffat profile ``(1 + r^2 / alpha^2)^-beta`` of a given FWHM (unnormalised)."""
    alpha = fwhm / (2 * np.sqrt(2 ** (1 / beta) - 1))
    return (1 + r2 / alpha**2) ** -beta


def _moffat_otf(grid, fwhm_pixels, native_box):
    """Optical transfer functions (rfft2) of Moffat PSFs times pixel boxes.

    ``fwhm_pixels`` and ``native_box`` have shape (k, bands); the result has
    shape (k, bands, side, side // 2 + 1).
    """
    side = grid.side
    freq = np.fft.fftfreq(side)
    dist = np.minimum(np.arange(side), side - np.arange(side)).astype(np.float64)
    r2 = dist[:, None] ** 2 + dist[None, :] ** 2
    psf = _unit(_moffat(r2, fwhm_pixels[..., None, None], MOFFAT_BETA))
    otf = np.fft.rfft2(psf)
    # Resampling from coarser native pixels: their box response, where > 1 px.
    box = native_box[..., None, None]
    otf *= np.sinc(box * freq[:, None]) * np.sinc(box * freq[None, : side // 2 + 1])
    return otf


def _galaxy_light(sub, grid):
    """Sum the galaxies' components, before the PSF: shape (k, 3, side, side)."""
    k = len(sub)
    side = grid.side
    x0, y0 = grid.offsets(sub["centre_dx"], sub["centre_dy"])
    image = np.zeros((k, 3, side, side))
    total_flux = band_fluxes(sub["mag_r"], 0.0, 0.0)[:, 1]

    def add(mask, profile, flux):
        image[mask] += flux[:, :, None, None] * profile[:, None]

    def rows(column, mask):
        return sub[column].to_numpy()[mask]

    smooth = (sub["morphology"] == "smooth").to_numpy()
    featured = ~smooth
    bulge = (sub["bulge_fraction"] > 0).to_numpy()
    bulge_flux = band_fluxes(
        sub["mag_r"] - 2.5 * np.log10(np.maximum(sub["bulge_fraction"], 1e-9)),
        sub["bulge_g_r"],
        sub["bulge_r_z"],
    )
    if bulge.any():
        profile = grid.sersic(
            x0[bulge],
            y0[bulge],
            rows("bulge_r_eff", bulge) / grid.scale,
            rows("sersic_n", bulge),
            rows("bulge_axis_ratio", bulge),
            rows("position_angle", bulge),
            rows("bulge_boxiness", bulge),
        )
        add(bulge, profile, bulge_flux[bulge])

    if featured.any():
        f = featured
        disk_total = total_flux[f] * (1 - rows("bulge_fraction", f))
        disk = grid.sersic(
            x0[f],
            y0[f],
            rows("r_eff", f) / grid.scale,
            np.ones(f.sum()),
            rows("axis_ratio", f),
            rows("position_angle", f),
        )
        colour = band_fluxes(0.0, rows("disk_g_r", f), rows("disk_r_z", f))
        colour /= colour[:, 1:2]
        arm_fraction = np.nan_to_num(rows("arm_fraction", f))
        bar_fraction = np.nan_to_num(rows("bar_fraction", f))
        smooth_share = 1 - arm_fraction - bar_fraction
        add(f, disk, (disk_total * smooth_share)[:, None] * colour)

        tau = rows("dust_tau_g", f)
        dusty = ~np.isnan(tau)
        if dusty.any():
            # A dust lane removes light along the midplane, most in g.
            dx, dy = grid.x - x0[f][dusty], grid.y - y0[f][dusty]
            angle = _col(rows("position_angle", f)[dusty])
            minor = -dx * np.sin(angle) + dy * np.cos(angle)
            width = _col(0.06 * rows("r_eff", f)[dusty] / grid.scale) + 0.5
            lane = np.exp(-0.5 * (minor / width) ** 2)
            absorbed = tau[dusty, None] * np.array([1.0, 0.75, 0.45])
            dust_flux = -(disk_total * smooth_share)[dusty, None] * colour[dusty]
            idx = np.flatnonzero(f)[dusty]
            image[idx] += (dust_flux * absorbed)[:, :, None, None] * (
                disk[dusty] * lane
            )[:, None]

    spiral = (sub["n_arms"] > 0).to_numpy()
    if spiral.any():
        arms = _spiral_arms(grid, x0[spiral], y0[spiral], sub[spiral])
        flux = band_fluxes(
            sub["mag_r"][spiral]
            - 2.5 * np.log10((1 - sub["bulge_fraction"]) * sub["arm_fraction"])[spiral],
            rows("arm_g_r", spiral),
            rows("arm_r_z", spiral),
        )
        add(spiral, arms, flux)

    barred = sub["bar_length"].notna().to_numpy()
    if barred.any():
        bar = _bar(grid, x0[barred], y0[barred], sub[barred])
        flux = band_fluxes(
            sub["mag_r"][barred]
            - 2.5 * np.log10((1 - sub["bulge_fraction"]) * sub["bar_fraction"])[barred],
            0.5 * (rows("bulge_g_r", barred) + rows("disk_g_r", barred)),
            0.5 * (rows("bulge_r_z", barred) + rows("disk_r_z", barred)),
        )
        add(barred, bar, flux)

    pair = (sub["merger_kind"] == "pair").to_numpy()
    if pair.any():
        cx, cy = grid.offsets(rows("companion_dx", pair), rows("companion_dy", pair))
        profile = grid.sersic(
            x0[pair] + cx,
            y0[pair] + cy,
            rows("companion_r_eff", pair) / grid.scale,
            rows("companion_sersic_n", pair),
            rows("companion_axis_ratio", pair),
            rows("companion_position_angle", pair),
        )
        flux = band_fluxes(
            sub["mag_r"][pair] - 2.5 * np.log10(sub["companion_flux_ratio"][pair]),
            rows("companion_g_r", pair),
            rows("companion_r_z", pair),
        )
        add(pair, profile, flux)

    tidal = (sub["merger_kind"] == "tidal").to_numpy()
    if tidal.any():
        tails = _tidal_tails(grid, x0[tidal], y0[tidal], sub[tidal])
        flux = band_fluxes(
            sub["mag_r"][tidal] - 2.5 * np.log10(sub["tidal_fraction"][tidal]),
            rows("disk_g_r", tidal),
            rows("disk_r_z", tidal),
        )
        add(tidal, tails, flux)
    return image


def _render_chunk(sub, survey, grid, rng, defect_fraction):
    """Render a chunk of galaxies: light, stars, PSF, noise, defects."""
    k, side = len(sub), grid.side
    image = _galaxy_light(sub, grid)
    star = sub["star"].to_numpy()
    if star.any():
        _add_star(image, star, sub, survey, grid, rng)

    # Seeing and depth vary from galaxy to galaxy around the survey's medians.
    fwhm = np.asarray(survey.seeing_fwhm) * 10 ** rng.normal(
        0, survey.seeing_scatter, (k, 3)
    )
    depth = np.asarray(survey.depth) + rng.normal(0, survey.depth_scatter, (k, 3))
    native = np.asarray(survey.native_pixel_scale) / grid.scale
    native_box = np.broadcast_to(np.where(native > 1, native, 0.0), (k, 3))
    otf = _moffat_otf(grid, fwhm / grid.scale, native_box)
    image = np.fft.irfft2(np.fft.rfft2(image) * otf, s=(side, side))
    pad, size = grid.pad, grid.size
    image = image[:, :, pad : pad + size, pad : pad + size]

    noise = _noise(image, survey, fwhm, depth, grid.scale, rng)
    image = (image + noise).astype(np.float32)
    defects = _add_defects(image, defect_fraction, rng)
    observed = {f"psf_fwhm_{b}": fwhm[:, i] for i, b in enumerate("grz")} | {
        f"depth_{b}": depth[:, i] for i, b in enumerate("grz")
    }
    observed["defect"] = defects
    return image, observed


def _add_star(image, star, sub, survey, grid, rng):
    """Add bright foreground stars: a point source, its halo and any ghost.

    The point source is one pixel before the PSF convolution; the halo and
    ghost are the survey's scattered light (see ``Survey``).
    """
    side = grid.side
    sx, sy = grid.offsets(sub["star_dx"][star], sub["star_dy"][star])
    centre = (side - 1) / 2
    col = np.clip(np.rint(centre + sx[:, 0, 0]), 0, side - 1).astype(int)
    row = np.clip(np.rint(centre + sy[:, 0, 0]), 0, side - 1).astype(int)
    flux = band_fluxes(
        sub["star_mag_r"][star], sub["star_g_r"][star], sub["star_r_z"][star]
    )
    scattered = survey.star_halo_fraction + survey.ghost_fraction
    image[np.flatnonzero(star)[:, None], np.arange(3), row[:, None], col[:, None]] += (
        flux * (1 - scattered)
    )
    r2 = (grid.x - sx) ** 2 + (grid.y - sy) ** 2
    if survey.star_halo_fraction > 0:
        halo = _unit(_moffat(r2, survey.star_halo_fwhm / grid.scale, 2.0))
        image[star] += (flux * survey.star_halo_fraction)[:, :, None, None] * halo[
            :, None
        ]
    if survey.ghost_fraction > 0:
        angle = rng.uniform(0, 2 * np.pi, (star.sum(), 1, 1))
        offset = survey.ghost_offset / grid.scale
        gx, gy = sx + offset * np.cos(angle), sy + offset * np.sin(angle)
        radius = np.hypot(grid.x - gx, grid.y - gy)
        ring_radius = survey.ghost_radius / grid.scale
        ring = _unit(np.exp(-0.5 * ((radius - ring_radius) / (0.2 * ring_radius)) ** 2))
        image[star] += (flux * survey.ghost_fraction)[:, :, None, None] * ring[:, None]


def _noise(image, survey, fwhm, depth, scale, rng):
    """Sky noise at the survey's depth, source shot noise and sky residuals.

    The sky sigma per pixel follows from the 5-sigma point-source depth:
    ``sigma_ps = sigma_pix * sqrt(4 pi) * s`` for a PSF of Gaussian width
    ``s`` pixels (widened by the pixel). Bands whose native pixels are coarser
    than the cutout's get their sky noise on the native grid, resampled, so it
    is correlated as in resampled survey images. The sky-subtraction residual
    is an offset plus a gradient in a random direction, of amplitude
    ``survey.sky_residual`` native-pixel sky sigmas, as a surface brightness.
    In nanomaggies per cutout pixel.
    """
    k, bands, size, _ = image.shape
    sigma_ps = survey.point_source_sigma(depth)
    noise = np.empty_like(image)
    coords = (np.arange(size) - (size - 1) / 2) / (size / 2)
    direction = rng.uniform(0, 2 * np.pi, (k, 1, 1))
    gradient = (
        np.cos(direction) * coords[None, None, :]
        + np.sin(direction) * coords[None, :, None]
    )
    for b in range(bands):
        native = survey.native_pixel_scale[b]
        native_width = fwhm[:, b] / 2.3548 / native
        native_sigma = sigma_ps[:, b] / np.sqrt(4 * np.pi * (native_width**2 + 1 / 12))
        amplitude = survey.sky_residual * native_sigma * (scale / native) ** 2
        offset = rng.normal(0, 0.5, k)
        residual = amplitude[:, None, None] * (gradient + offset[:, None, None])
        step = max(native, scale)
        width = fwhm[:, b] / 2.3548 / step
        sky_sigma = sigma_ps[:, b] / np.sqrt(4 * np.pi * (width**2 + 1 / 12))
        if native > scale:
            coarse = max(2, int(round(size * scale / native)))
            white = rng.standard_normal((k, 1, coarse, coarse))
            upsampled = torch.nn.functional.interpolate(
                torch.from_numpy(white), size=(size, size), mode="bilinear"
            ).numpy()[:, 0]
            # Native-pixel noise, in flux per cutout pixel: each cutout pixel
            # holds (scale / native)**2 of a native pixel's sky.
            sky = upsampled * (sky_sigma * (scale / native) ** 2)[:, None, None]
        else:
            sky = rng.standard_normal((k, size, size)) * sky_sigma[:, None, None]
        shot_variance = np.maximum(image[:, b], 0) / survey.electrons_per_nanomaggy[b]
        shot = rng.standard_normal((k, size, size)) * np.sqrt(shot_variance)
        noise[:, b] = sky + shot + residual
    return noise


def _add_defects(image, fraction, rng):
    """Add rare instrumental defects in place; return their kind per image.

    ``saturated_column``: a bleed trail, a bright column over part of the
    cutout in one to three bands. ``masked_rows``: a band of rows with no data
    (zero in the Legacy Surveys cutouts) in every band.
    """
    k, bands, size, _ = image.shape
    kind = np.full(k, "none", dtype=object)
    hit = rng.random(k) < fraction
    column = rng.random(k) < 0.5
    for i in np.flatnonzero(hit):
        peak = float(np.abs(image[i]).max())
        if column[i]:
            kind[i] = "saturated_column"
            x = rng.integers(size // 8, size - size // 8)
            width = max(1, size // 64) + rng.integers(0, 2)
            length = rng.integers(size // 2, size + 1)
            top = rng.integers(0, size - length + 1)
            affected = rng.random(bands) < 0.7
            affected[rng.integers(bands)] = True
            image[i, affected, top : top + length, x : x + width] = peak * rng.uniform(
                1.5, 4.0
            )
        else:
            kind[i] = "masked_rows"
            height = max(2, int(size * rng.uniform(0.05, 0.2)))
            top = rng.integers(0, size - height + 1)
            image[i, :, top : top + height] = 0.0
    return kind


def render(params, survey: Survey, *, image_size, pixel_scale, defect_fraction, rng):
    """Render a population as ``survey`` sees it.

    Parameters
    ----------
    params : pandas.DataFrame
        Population from :func:`~._population.draw_population`, with stars.
    survey : Survey
        Observing conditions.
    image_size : int
        Side of the cutouts in pixels.
    pixel_scale : float
        Arcsec per pixel of the cutouts.
    defect_fraction : float
        Probability of an instrumental defect per image.
    rng : numpy.random.Generator
        Source of randomness (noise, seeing, defects).

    Returns
    -------
    images : ndarray of shape (n, 3, image_size, image_size), float32
        Nanomaggies per pixel.
    observed : pandas.DataFrame
        Per-image observing conditions (PSF FWHM and depth per band) and the
        kind of defect added.
    """
    pad = max(4, image_size // 8)
    grid = _Grid(image_size, pad, pixel_scale)
    chunk = max(1, _PIXELS_PER_CHUNK // (3 * grid.side**2))
    n = len(params)
    images = np.empty((n, 3, image_size, image_size), dtype=np.float32)
    observed = []
    for start in range(0, n, chunk):
        sub = params.iloc[start : start + chunk].reset_index(drop=True)
        images[start : start + len(sub)], obs = _render_chunk(
            sub, survey, grid, rng, defect_fraction
        )
        observed.append(pd.DataFrame(obs))
    return images, pd.concat(observed, ignore_index=True)
