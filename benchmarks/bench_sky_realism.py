"""Measure the built-in simulator against real DECaLS cutouts, side by side.

Every quantity is measured by the same code on real FITS cutouts and on the
simulator's images rendered at the same pixel scale and size:

- sky noise per pixel (sigma-clipped, sources masked) and its correlation
  between neighbouring pixels (resampled images have correlated noise);
- the 5-sigma point-source depth (AB mag), from PSF-weighted fluxes at
  source-free positions: unlike the per-pixel noise it does not depend on
  the pixel scale or on how the noise is correlated;
- the PSF FWHM of compact bright sources (stars), from Gaussian fits;
- the central galaxy's r-band magnitude and half-light radius (curve of
  growth inside its segment, arcsec), and the half-light radius as a
  fraction of the cutout's side;
- the training view: each cutout resampled to 64x64 (area average) and
  MTF-stretched as the study does; the sky noise there, in stretched units,
  and the contrast of the galaxy over it. Real Galaxy Zoo DESI colour
  cutouts (``--gz-desi``) add a row for what the real training images hold.

Real cutouts are in nanomaggies per native pixel (the Legacy Surveys cutout
service keeps surface brightness when it resamples); ``--native-scale``
converts them to flux per cutout pixel, as the simulator's are.

Run::

    python benchmarks/bench_sky_realism.py --fits DIR [--gz-desi DIR]
"""

import argparse
import glob
import json
import os
import warnings

import numpy as np
from astropy.io import fits
from astropy.modeling import fitting, models
from astropy.stats import sigma_clip
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales
from scipy import ndimage

from skgalvae.datasets import SURVEYS, make_galaxies
from skgalvae.nn.ssim import ssim
from skgalvae.preprocessing import MTFStretch, Resize

BANDS = "grz"
DECALS = SURVEYS["decals"]
STAR_MIN_SNR = 40  # peak over sky sigma of a compact source worth fitting


def sky_sigma(image):
    """Sigma-clipped noise of one band and the mask of its sources."""
    background = ndimage.median_filter(image, size=41)
    residual = image - background
    sigma = float(sigma_clip(residual, sigma=2.5, maxiters=10).std())
    smooth = ndimage.gaussian_filter(residual, 2)
    smooth_sigma = float(sigma_clip(smooth, sigma=2.5, maxiters=10).std())
    sources = ndimage.binary_dilation(smooth > 3 * smooth_sigma, iterations=6)
    return sigma, residual, sources


def neighbour_correlation(residual, sources, lag=1):
    """Correlation of the sky noise between pixels ``lag`` apart."""
    sky = np.where(sources, np.nan, residual)
    a, b = sky[:, :-lag], sky[:, lag:]
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def gaussian_psf(fwhm_pixels):
    """A unit-sum Gaussian PSF stamp."""
    half = int(np.ceil(2 * fwhm_pixels))
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    psf = np.exp(-0.5 * (x**2 + y**2) / (fwhm_pixels / 2.3548) ** 2)
    return psf / psf.sum()


def point_source_depth(residual, sources, fwhm_pixels, rng, n=2000):
    """5-sigma point-source depth (AB) from PSF-weighted sky fluxes.

    ``residual`` is in nanomaggies per pixel of this image.
    """
    psf = gaussian_psf(fwhm_pixels)
    flux = ndimage.convolve(residual, psf, mode="constant") / (psf**2).sum()
    clear = ~ndimage.binary_dilation(sources, structure=psf > 0)
    half = psf.shape[0] // 2
    clear[:half], clear[-half:], clear[:, :half], clear[:, -half:] = 0, 0, 0, 0
    rows, cols = np.nonzero(clear)
    if len(rows) < 50:
        return float("nan")
    pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
    values = flux[rows[pick], cols[pick]]
    sigma = 1.4826 * np.median(np.abs(values - np.median(values)))
    return float(22.5 - 2.5 * np.log10(5 * sigma))


def star_fwhms(residual, sigma, centre_exclusion):
    """Gaussian FWHM (pixels) of compact bright sources away from the centre."""
    labels, n = ndimage.label(residual > 5 * sigma)
    peaks = ndimage.maximum_position(residual, labels, range(1, n + 1))
    side = residual.shape[0]
    centre = (side - 1) / 2
    fitter = fitting.LevMarLSQFitter()
    widths = []
    for row, col in peaks:
        if residual[row, col] < STAR_MIN_SNR * sigma:
            continue
        if np.hypot(row - centre, col - centre) < centre_exclusion:
            continue
        half = 15
        if min(row, col) < half or max(row, col) >= side - half:
            continue
        stamp = residual[row - half : row + half + 1, col - half : col + half + 1]
        y, x = np.mgrid[: stamp.shape[0], : stamp.shape[1]]
        model = models.Gaussian2D(stamp.max(), half, half, 3, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fitter(model, x, y, stamp)
        fwhm = 2.3548 * np.sqrt(abs(fit.x_stddev.value * fit.y_stddev.value))
        ratio = abs(fit.x_stddev.value / fit.y_stddev.value)
        if 0.7 < ratio < 1.4 and fwhm < 25:  # round and compact: a star
            widths.append(float(fwhm))
    return widths


def central_galaxy(image, sigma):
    """r-band total flux (per-pixel units) and half-light radius (pixels)."""
    smooth = ndimage.gaussian_filter(image, 2)
    smooth_sigma = float(sigma_clip(smooth, sigma=2.5, maxiters=10).std())
    labels, _ = ndimage.label(smooth > 2 * smooth_sigma)
    side = image.shape[0]
    centre = side // 2
    window = labels[centre - 3 : centre + 4, centre - 3 : centre + 4]
    ids = window[window > 0]
    if not len(ids):
        return float("nan"), float("nan")
    segment = labels == np.bincount(ids).argmax()
    segment = ndimage.binary_dilation(segment, iterations=3)
    light = np.where(segment, image, 0.0)
    total = light.sum()
    y, x = np.indices(image.shape)
    cy, cx = (light * y).sum() / total, (light * x).sum() / total
    radius = np.hypot(y - cy, x - cx)[segment]
    order = np.argsort(radius)
    growth = np.cumsum(light[segment][order])
    return float(total), float(radius[order][np.searchsorted(growth, total / 2)])


def training_view(images):
    """Sky noise and galaxy contrast of 64x64 MTF-stretched cutouts."""
    small = Resize(64).fit_transform(images) if images.shape[-1] != 64 else images
    return view_statistics(MTFStretch().fit_transform(small))


def view_statistics(stretched):
    """Per image: sky sigma in the border, and the centre's contrast over it.

    ``smoothing_ssim`` is the SSIM of each image against itself smoothed by
    a 1-pixel Gaussian: the lower, the more of the image is pixel-scale
    noise (or pixel-scale structure), which no reconstruction from a few
    latents reproduces.
    """
    stretched = np.asarray(stretched, dtype=np.float32)
    smoothed = ndimage.gaussian_filter(stretched, (0, 0, 1, 1))
    smoothing_ssim = ssim(smoothed, stretched, data_range=1.0).numpy()
    rows = []
    for image, similarity in zip(
        stretched.astype(np.float64), smoothing_ssim, strict=True
    ):
        grey = image.mean(axis=0)
        border = np.concatenate(
            [
                grey[:6].ravel(),
                grey[-6:].ravel(),
                grey[6:-6, :6].ravel(),
                grey[6:-6, -6:].ravel(),
            ]
        )
        clipped = sigma_clip(border, sigma=2.5, maxiters=10)
        sky, noise = float(np.ma.median(clipped)), float(clipped.std())
        centre = grey[24:40, 24:40]
        rows.append(
            {
                "sky_level": sky,
                "sky_noise": noise,
                "contrast": float((np.percentile(centre, 90) - sky) / max(noise, 1e-6)),
                "above_3_sigma": float((grey > sky + 3 * noise).mean()),
                "smoothing_ssim": float(similarity),
            }
        )
    return {key: float(np.median([r[key] for r in rows])) for key in rows[0]}


def measure(images, pixel_scales, unit_factors, rng, seeing):
    """Every per-band and galaxy statistic of a set of cutouts.

    ``pixel_scales`` (arcsec) and ``unit_factors`` (to flux per pixel) are
    per image.
    """
    result = {b: {"sigma": [], "corr1": [], "depth": [], "fwhm": []} for b in BANDS}
    mags, radii, fractions = [], [], []
    for image, pixel_scale, unit_factor in zip(
        images, pixel_scales, unit_factors, strict=True
    ):
        for b, band in enumerate(BANDS):
            flux = image[b].astype(np.float64) * unit_factor
            sigma, residual, sources = sky_sigma(flux)
            result[band]["sigma"].append(sigma)
            result[band]["corr1"].append(neighbour_correlation(residual, sources))
            result[band]["depth"].append(
                point_source_depth(residual, sources, seeing[b] / pixel_scale, rng)
            )
            result[band]["fwhm"] += [
                w * pixel_scale for w in star_fwhms(residual, sigma, 4 / pixel_scale)
            ]
            if band == "r":
                total, r50 = central_galaxy(flux, sigma)
                mags.append(22.5 - 2.5 * np.log10(total))
                radii.append(r50 * pixel_scale)
                fractions.append(r50 / image.shape[-1])
    summary = {}
    for band, values in result.items():
        summary[band] = {
            "sky_sigma": float(np.median(values["sigma"])),
            "neighbour_correlation": float(np.median(values["corr1"])),
            "depth": float(np.nanmedian(values["depth"])),
            "depth_range": [
                float(np.nanmin(values["depth"])),
                float(np.nanmax(values["depth"])),
            ],
            "star_fwhm": [round(w, 2) for w in sorted(values["fwhm"])],
        }
    summary["galaxy"] = {
        "mag_r": [round(m, 2) for m in mags],
        "r50_arcsec": [round(r, 2) for r in radii],
        "r50_over_side": [round(f, 3) for f in fractions],
    }
    return summary


def read_real(directory):
    """The real DECaLS cutouts (readable, no bad pixels) and their pixel scale."""
    paths = sorted(glob.glob(os.path.join(directory, "example_[a-z].fits")))
    images, scales = [], []
    for path in paths:
        with fits.open(path) as hdus:
            images.append(np.asarray(hdus[0].data, dtype=np.float64))
            scales.append(proj_plane_pixel_scales(WCS(hdus[0].header).celestial)[0])
    return np.stack(images), 3600 * np.asarray(scales), paths


def simulated(args, size, pixel_scale, rng, seeing):
    """Measure the simulator: sky and galaxies without stars, stars apart."""
    n = args.n_simulated
    ones = np.ones(n)
    galaxies = make_galaxies(
        n,
        image_size=size,
        pixel_scale=pixel_scale,
        star_fraction=0.0,
        defect_fraction=0.0,
        random_state=args.seed,
    )
    summary = measure(galaxies.images, ones * pixel_scale, ones, rng, seeing)
    stars = make_galaxies(
        n // 2,
        image_size=size,
        pixel_scale=pixel_scale,
        star_fraction=1.0,
        defect_fraction=0.0,
        random_state=args.seed + 1,
    )
    with_stars = measure(stars.images, ones * pixel_scale, ones, rng, seeing)
    for band in BANDS:
        summary[band]["star_fwhm"] = with_stars[band]["star_fwhm"]
    return summary


def _spread(values):
    """``median [min, max] (n)`` of a list, or a dash when empty."""
    if not len(values):
        return "-"
    return (
        f"{np.median(values):.2f} [{min(values):.2f}, {max(values):.2f}]"
        f" ({len(values)})"
    )


def print_table(title, real, simulated):
    print(f"\n{title}")
    print(f"{'quantity':32s} {'real':>26s} {'simulated':>26s}")
    for band in BANDS:
        for key in ("sky_sigma", "neighbour_correlation", "depth"):
            r, s = real[band][key], simulated[band][key]
            print(f"{band} {key:30s} {r:26.4f} {s:26.4f}")
        r, s = real[band]["star_fwhm"], simulated[band]["star_fwhm"]
        print(f"{band} {'star FWHM (arcsec)':30s} {_spread(r):>26s} {_spread(s):>26s}")
    for key in ("mag_r", "r50_arcsec", "r50_over_side"):
        r, s = real["galaxy"][key], simulated["galaxy"][key]
        print(f"{key:32s} {_spread(r):>26s} {_spread(s):>26s}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--fits", required=True, help="folder of DECaLS FITS")
    parser.add_argument("--gz-desi", help="gz_desi_1500 folder (images.npz)")
    parser.add_argument("--native-scale", type=float, default=0.262)
    parser.add_argument("--n-simulated", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write every number here")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    real, scales, paths = read_real(args.fits)
    units = (scales / args.native_scale) ** 2
    scale = float(np.median(scales))
    print(
        f"{len(paths)} real cutouts, {real.shape[-1]} px at "
        f"{', '.join(f'{s:.3f}' for s in scales)} arcsec/px"
    )
    seeing = DECALS.seeing_fwhm
    results = {
        "pixel_scales": scales.tolist(),
        "real": measure(real, scales, units, rng, seeing),
    }
    for key, size, pixel_scale in (
        ("simulated_same_scale", real.shape[-1], scale),
        ("simulated_native", 256, args.native_scale),
    ):
        results[key] = simulated(args, size, pixel_scale, rng, seeing)
        print_table(
            f"Simulated at {pixel_scale:.3f} arcsec/px, {size} px",
            results["real"],
            results[key],
        )

    views = {
        "real DECaLS FITS -> 64": training_view(real),
        "simulated, default (64 px)": training_view(
            make_galaxies(400, random_state=args.seed).images
        ),
    }
    if args.gz_desi:
        with np.load(os.path.join(args.gz_desi, "images.npz")) as data:
            colour = data["images"][:400].astype(np.float32) / 255
        views["real gz_desi_1500 colour -> 64"] = view_statistics(
            Resize(64).fit_transform(colour)
        )
    results["training_view"] = views
    print("\nTraining view (64x64, MTF-stretched; colour cutouts as they are)")
    print(
        f"{'data':34s} {'sky level':>10s} {'sky noise':>10s} {'contrast':>10s}"
        f" {'> 3 sigma':>10s} {'smoothing SSIM':>15s}"
    )
    for name, v in views.items():
        print(
            f"{name:34s} {v['sky_level']:10.3f} {v['sky_noise']:10.4f}"
            f" {v['contrast']:10.1f} {v['above_3_sigma']:10.3f}"
            f" {v['smoothing_ssim']:15.3f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
