"""Draw a population of galaxies: true morphology and physical parameters.

The morphology follows the GZD-5 decision tree of the study's Table 2, so
every galaxy's true class per question is known; the physical parameters are
drawn conditionally on it (a strong bar is long and bright, a loose spiral has
a large pitch angle, ...). Sizes are in arcsec and fluxes in AB magnitudes, so
one population can be rendered by any survey at any pixel scale. Nothing here
depends on the survey: the same population rendered twice is the paired
setting of the study's domain adaptation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import GZD5_QUESTIONS

# Class probabilities per branch, in GZD5_QUESTIONS class order. They are
# flatter than the real GZD-5 sample so that rare classes get enough examples
# in a few thousand galaxies.
P_SMOOTH = 0.4
P_MERGER = 0.12
CLASS_PROBABILITIES = {
    "how_rounded": (0.4, 0.4, 0.2),
    "edge_on": (0.25, 0.75),
    "bulge_shape": (0.45, 0.25, 0.3),
    "bar": (0.5, 0.25, 0.25),
    "has_arms": (0.75, 0.25),
    "arm_tightness": (0.33, 0.34, 0.33),
    "arm_count": (0.15, 0.45, 0.25, 0.15),
    "bulge_size": (0.15, 0.3, 0.35, 0.2),
}
# Axis ratio of smooth galaxies per roundness class.
ROUNDNESS_AXIS_RATIO = {
    "round": (0.82, 1.0),
    "in-between": (0.5, 0.7),
    "cigar-shaped": (0.2, 0.36),
}
# Bulge-to-total flux ratio per bulge-size class of face-on disks.
BULGE_FRACTION = {
    "none": (0.0, 0.0),
    "small": (0.06, 0.12),
    "moderate": (0.18, 0.3),
    "large": (0.38, 0.55),
}
# Pitch angle of the arms (deg) per tightness class.
ARM_PITCH = {"tight": (8.0, 12.0), "medium": (16.0, 22.0), "loose": (28.0, 38.0)}
# Bar length (in disk scale lengths), axis ratio and flux fraction per class.
BAR = {
    "weak": dict(length=(0.7, 1.0), axis_ratio=(0.32, 0.42), fraction=(0.05, 0.09)),
    "strong": dict(length=(1.1, 1.6), axis_ratio=(0.2, 0.3), fraction=(0.12, 0.2)),
}
DISK_THICKNESS = 0.12  # intrinsic axis ratio of a disk seen edge-on


def _choice(rng, n, classes, probabilities):
    index = rng.choice(len(classes), size=n, p=np.asarray(probabilities))
    return np.asarray(classes, dtype=object)[index]


def _colour(rng, n, mean, scatter):
    return rng.normal(mean, scatter, n)


def draw_population(n_samples: int, rng: np.random.Generator):
    """Draw true morphologies and physical parameters of ``n_samples`` galaxies.

    Parameters
    ----------
    n_samples : int
        Number of galaxies.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    labels : pandas.DataFrame
        True class per GZD-5 question (categorical), missing where the question
        does not apply to the galaxy.
    params : pandas.DataFrame
        Physical parameters (arcsec, AB mag, radians unless named ``_deg``);
        NaN where a parameter does not apply.
    """
    n = n_samples
    q = GZD5_QUESTIONS
    uniform = rng.uniform
    nan = np.full(n, np.nan)
    truth = {name: np.full(n, None, dtype=object) for name in q}
    p = {}

    smooth = rng.random(n) < P_SMOOTH
    featured = ~smooth
    p["morphology"] = np.where(smooth, "smooth", "featured").astype(object)

    # Branch classes, each drawn for every galaxy and kept where it applies.
    draws = {
        name: _choice(rng, n, q[name].classes, probs)
        for name, probs in CLASS_PROBABILITIES.items()
    }
    edge_on = featured & (draws["edge_on"] == "edge-on")
    face_on = featured & ~edge_on
    arms = face_on & (draws["has_arms"] == "yes")
    truth["how_rounded"][smooth] = draws["how_rounded"][smooth]
    truth["edge_on"][featured] = draws["edge_on"][featured]
    truth["bulge_shape"][edge_on] = draws["bulge_shape"][edge_on]
    for name in ("bar", "has_arms", "bulge_size"):
        truth[name][face_on] = draws[name][face_on]
    for name in ("arm_tightness", "arm_count"):
        truth[name][arms] = draws[name][arms]
    merging = rng.random(n) < P_MERGER
    truth["merger"] = np.where(merging, "merger", "none").astype(object)

    # Size and brightness: a disk scale length (or an elliptical's effective
    # radius) in arcsec, and a mean surface brightness inside the half-light
    # radius near the Freeman value, which fixes the magnitude.
    half_light = uniform(4.5, 10.0, n)
    mean_surface_brightness = rng.normal(20.2, 0.35, n)
    p["r_eff"] = half_light
    p["mag_r"] = mean_surface_brightness - 2.5 * np.log10(np.pi * half_light**2)
    p["position_angle"] = uniform(0.0, np.pi, n)
    p["centre_dx"] = uniform(-0.5, 0.5, n)
    p["centre_dy"] = uniform(-0.5, 0.5, n)

    # Smooth galaxies: one Sersic profile, axis ratio by roundness.
    axis_ratio = nan.copy()
    for cls, (low, high) in ROUNDNESS_AXIS_RATIO.items():
        sel = smooth & (draws["how_rounded"] == cls)
        axis_ratio[sel] = uniform(low, high, sel.sum())
    # Disks: inclination sets the apparent axis ratio of a thick disk.
    cos_i = np.where(edge_on, uniform(0.0, 0.08, n), uniform(0.5, 1.0, n))
    disk_axis_ratio = np.sqrt(cos_i**2 + DISK_THICKNESS**2 * (1 - cos_i**2))
    axis_ratio[featured] = disk_axis_ratio[featured]
    p["axis_ratio"] = axis_ratio
    p["inclination_deg"] = np.where(featured, np.degrees(np.arccos(cos_i)), np.nan)
    p["cos_inclination"] = np.where(featured, cos_i, np.nan)

    # Bulges: the whole galaxy for smooth ones; by class for disks.
    bulge_fraction = np.where(smooth, 1.0, 0.0)
    for cls, (low, high) in BULGE_FRACTION.items():
        sel = face_on & (draws["bulge_size"] == cls)
        bulge_fraction[sel] = uniform(low, high, sel.sum())
    shape = draws["bulge_shape"]
    sel = edge_on & (shape != "none")
    bulge_fraction[sel] = uniform(0.15, 0.35, sel.sum())
    p["bulge_fraction"] = bulge_fraction
    has_bulge = bulge_fraction > 0
    bulge_r_eff = np.where(
        smooth, half_light, half_light * uniform(0.15, 0.25, n) * (1 + bulge_fraction)
    )
    p["bulge_r_eff"] = np.where(has_bulge, bulge_r_eff, np.nan)
    p["sersic_n"] = np.where(
        smooth, uniform(2.5, 5.0, n), np.where(has_bulge, uniform(1.5, 4.0, n), np.nan)
    )
    bulge_q = np.where(smooth, axis_ratio, uniform(0.75, 0.95, n))
    boxy = edge_on & (shape == "boxy")
    bulge_q[boxy] = uniform(0.55, 0.75, boxy.sum())
    p["bulge_axis_ratio"] = np.where(has_bulge, bulge_q, np.nan)
    # GeneralSersic2D's boxiness: c > 0 gives boxy isophotes.
    p["bulge_boxiness"] = np.where(
        boxy, uniform(1.0, 2.0, n), np.where(has_bulge, 0.0, np.nan)
    )

    # Bars, in the disk plane.
    bar_length, bar_q, bar_fraction = nan.copy(), nan.copy(), nan.copy()
    for cls, ranges in BAR.items():
        sel = face_on & (draws["bar"] == cls)
        k = sel.sum()
        bar_length[sel] = uniform(*ranges["length"], k) * half_light[sel] / 1.678
        bar_q[sel] = uniform(*ranges["axis_ratio"], k)
        bar_fraction[sel] = uniform(*ranges["fraction"], k)
    barred = ~np.isnan(bar_length)
    p["bar_length"] = bar_length
    p["bar_axis_ratio"] = bar_q
    p["bar_fraction"] = bar_fraction
    p["bar_angle"] = np.where(barred, uniform(0.0, np.pi, n), np.nan)

    # Logarithmic spiral arms, in the disk plane. Barred spirals start their
    # arms at the bar's ends.
    p["n_arms"] = np.where(arms, pd.to_numeric(draws["arm_count"]), 0).astype(int)
    pitch = nan.copy()
    for cls, (low, high) in ARM_PITCH.items():
        sel = arms & (draws["arm_tightness"] == cls)
        pitch[sel] = uniform(low, high, sel.sum())
    p["arm_pitch_deg"] = pitch
    p["arm_fraction"] = np.where(arms, uniform(0.35, 0.6, n), np.nan)
    p["arm_sharpness"] = np.where(arms, uniform(2.5, 4.5, n), np.nan)
    phase = np.where(barred, p["bar_angle"], uniform(0.0, 2 * np.pi, n))
    p["arm_phase"] = np.where(arms, phase, np.nan)
    p["arm_start"] = np.where(
        arms,
        np.where(barred, bar_length, 0.35 * half_light) * uniform(0.9, 1.1, n),
        np.nan,
    )

    # Dust lanes in edge-on disks, optical depth in g.
    p["dust_tau_g"] = np.where(edge_on, uniform(0.3, 0.7, n), np.nan)

    # Mergers: a close companion, or tidal tails.
    kind = np.where(merging, np.where(rng.random(n) < 0.6, "pair", "tidal"), "none")
    p["merger_kind"] = kind.astype(object)
    pair, tidal = kind == "pair", kind == "tidal"
    separation = half_light * uniform(0.8, 1.6, n)
    angle = uniform(0, 2 * np.pi, n)
    p["companion_dx"] = np.where(pair, separation * np.cos(angle), np.nan)
    p["companion_dy"] = np.where(pair, separation * np.sin(angle), np.nan)
    p["companion_r_eff"] = np.where(pair, half_light * uniform(0.4, 0.8, n), np.nan)
    p["companion_sersic_n"] = np.where(pair, uniform(1.0, 4.0, n), np.nan)
    p["companion_axis_ratio"] = np.where(pair, uniform(0.5, 1.0, n), np.nan)
    p["companion_position_angle"] = np.where(pair, uniform(0, np.pi, n), np.nan)
    p["companion_flux_ratio"] = np.where(pair, uniform(0.3, 0.9, n), np.nan)
    p["tidal_fraction"] = np.where(tidal, uniform(0.12, 0.25, n), np.nan)
    p["tidal_radius"] = np.where(tidal, half_light * uniform(0.8, 1.4, n), np.nan)
    p["tidal_angle"] = np.where(tidal, uniform(0, 2 * np.pi, n), np.nan)
    p["tidal_span"] = np.where(tidal, uniform(1.8, 3.0, n), np.nan)

    # Colours (AB): red bulges and ellipticals, bluer disks, bluest arms.
    p["bulge_g_r"] = _colour(rng, n, 0.78, 0.05)
    p["bulge_r_z"] = _colour(rng, n, 0.45, 0.05)
    p["disk_g_r"] = _colour(rng, n, 0.5, 0.07)
    p["disk_r_z"] = _colour(rng, n, 0.3, 0.07)
    p["arm_g_r"] = _colour(rng, n, 0.22, 0.07)
    p["arm_r_z"] = _colour(rng, n, 0.08, 0.07)
    p["companion_g_r"] = np.where(pair, _colour(rng, n, 0.65, 0.15), np.nan)
    p["companion_r_z"] = np.where(pair, _colour(rng, n, 0.38, 0.1), np.nan)

    labels = pd.DataFrame(
        {
            name: pd.Categorical(values, categories=list(q[name].classes))
            for name, values in truth.items()
        }
    )
    return labels, pd.DataFrame(p)


def draw_contamination(params, star_fraction, rng):
    """Add foreground stars to a population: they are on the sky, not in a survey.

    Parameters
    ----------
    params : pandas.DataFrame
        Population parameters; star columns are added in place.
    star_fraction : float
        Probability that a galaxy has a bright star in its cutout.
    rng : numpy.random.Generator
        Source of randomness.
    """
    n = len(params)
    star = rng.random(n) < star_fraction
    radius = params["r_eff"].to_numpy() * rng.uniform(1.2, 4.0, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    params["star"] = star
    params["star_dx"] = np.where(star, radius * np.cos(angle), np.nan)
    params["star_dy"] = np.where(star, radius * np.sin(angle), np.nan)
    params["star_mag_r"] = np.where(
        star, params["mag_r"].to_numpy() - rng.uniform(0.5, 3.0, n), np.nan
    )
    g_r = rng.uniform(0.3, 1.4, n)
    params["star_g_r"] = np.where(star, g_r, np.nan)
    params["star_r_z"] = np.where(star, 0.5 * g_r + rng.normal(0, 0.05, n), np.nan)
