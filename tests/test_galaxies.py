"""The built-in galaxy simulator: shapes, physics, labels, votes, pairs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from skgalvae.datasets import SURVEYS, make_galaxies, make_survey_pairs
from skgalvae.labels import GZD5_QUESTIONS, gzd5_labels


@pytest.fixture(scope="module")
def pairs():
    return make_survey_pairs(400, random_state=0)


@pytest.fixture(scope="module")
def decals(pairs):
    return pairs[0]


def _flux(images, band=1):
    """Flux in one band after subtracting the median of the cutout's border.

    The border median estimates the sky-subtraction residual's offset; its
    gradient integrates to zero over the square.
    """
    img = images[:, band].astype(np.float64)
    border = np.concatenate(
        [img[:, :4].reshape(len(img), -1), img[:, -4:].reshape(len(img), -1)], axis=1
    )
    return (img - np.median(border, axis=1)[:, None, None]).sum(axis=(1, 2))


def _clean(bunch):
    p = bunch.params
    return (
        ~p["star"] & (p["defect"] == "none") & (p["merger_kind"] == "none")
    ).to_numpy()


def test_shapes_dtypes_and_tables(decals):
    assert decals.images.shape == (400, 3, 64, 64)
    assert decals.images.dtype == np.float32
    assert np.isfinite(decals.images).all()
    assert decals.bands == ("g", "r", "z") and decals.survey == "decals"
    assert list(decals.labels.columns) == list(GZD5_QUESTIONS)
    for name, q in GZD5_QUESTIONS.items():
        assert isinstance(decals.labels[name].dtype, pd.CategoricalDtype)
        assert list(decals.labels[name].cat.categories) == list(q.classes)
    assert len(decals.params) == len(decals.votes) == 400


def test_questions_apply_down_the_tree(decals):
    labels, smooth = decals.labels, decals.params["morphology"] == "smooth"
    assert labels["how_rounded"].notna().eq(smooth).all()
    assert labels["edge_on"].notna().eq(~smooth).all()
    edge_on = labels["edge_on"] == "edge-on"
    assert labels["bulge_shape"].notna().eq(edge_on).all()
    face_on = labels["edge_on"] == "not edge-on"
    for name in ("bar", "has_arms", "bulge_size"):
        assert labels[name].notna().eq(face_on).all()
    arms = labels["has_arms"] == "yes"
    assert labels["arm_count"].notna().eq(arms).all()
    assert (
        decals.params["n_arms"][arms] == labels["arm_count"][arms].astype(int)
    ).all()
    assert labels["merger"].notna().all()
    # Every one of the 26 classes occurs.
    for name, q in GZD5_QUESTIONS.items():
        assert set(labels[name].dropna()) == set(q.classes), name


def test_deterministic_for_a_seed():
    a = make_galaxies(30, random_state=3)
    b = make_galaxies(30, random_state=3)
    c = make_galaxies(30, random_state=4)
    np.testing.assert_array_equal(a.images, b.images)
    pd.testing.assert_frame_equal(a.votes, b.votes)
    assert not np.allclose(a.images, c.images)


def test_flux_matches_magnitude_in_nanomaggies(decals):
    # Isolated galaxies: the r-band sum is the flux of mag_r (AB, zp 22.5);
    # mag_r is before dust, so edge-on disks (dust lanes) are left out.
    clean = _clean(decals) & decals.params["dust_tau_g"].isna().to_numpy()
    measured = _flux(decals.images[clean])
    expected = 10 ** ((22.5 - decals.params["mag_r"][clean]) / 2.5)
    ratio = measured / expected
    # The border median also removes a little of the wings of big galaxies.
    assert np.median(ratio) == pytest.approx(0.98, abs=0.03)
    assert np.percentile(ratio, 5) > 0.85


def _axis_ratio(images):
    """Second-moment axis ratio of the r band, from pixels above 5% of the peak."""
    img = images[:, 1].astype(np.float64)
    img = np.where(img > 0.05 * img.max(axis=(1, 2), keepdims=True), img, 0.0)
    y, x = np.mgrid[: img.shape[1], : img.shape[2]]
    w = img / img.sum(axis=(1, 2), keepdims=True)
    mx, my = (w * x).sum((1, 2)), (w * y).sum((1, 2))
    dx, dy = x - mx[:, None, None], y - my[:, None, None]
    cov = np.stack(
        [
            np.stack([(w * dx * dx).sum((1, 2)), (w * dx * dy).sum((1, 2))], -1),
            np.stack([(w * dx * dy).sum((1, 2)), (w * dy * dy).sum((1, 2))], -1),
        ],
        -2,
    )
    eig = np.linalg.eigvalsh(cov)
    return np.sqrt(eig[:, 0] / eig[:, 1])


def test_shapes_are_what_the_labels_claim(decals):
    clean = _clean(decals)
    ratio = _axis_ratio(decals.images)
    shape = decals.labels["how_rounded"]
    round_ = ratio[clean & (shape == "round").to_numpy()]
    cigar = ratio[clean & (shape == "cigar-shaped").to_numpy()]
    edge_on = ratio[clean & (decals.labels["edge_on"] == "edge-on").to_numpy()]
    assert np.median(round_) > 0.8
    assert np.median(cigar) < 0.55
    assert np.median(edge_on) < 0.45


def test_dust_lanes_absorb_most_in_g(decals):
    clean = _clean(decals)
    dusty = clean & decals.params["dust_tau_g"].notna().to_numpy()
    intrinsic = 10 ** ((22.5 - decals.params["mag_r"][dusty].to_numpy()) / 2.5)
    r_loss = 1 - _flux(decals.images[dusty]) / intrinsic
    assert 0.05 < np.median(r_loss) < 0.4


def test_colours_red_bulges_blue_disks(decals):
    g_r = -2.5 * np.log10(_flux(decals.images, 0) / _flux(decals.images, 1))
    clean = _clean(decals)
    smooth = clean & (decals.params["morphology"] == "smooth").to_numpy()
    spiral = clean & (decals.params["n_arms"] > 0).to_numpy()
    assert np.median(g_r[smooth]) > np.median(g_r[spiral]) + 0.15


def test_votes_fractions_and_labels(decals):
    votes = decals.votes
    root = votes.filter(like="smooth-or-featured_").filter(like="_fraction")
    np.testing.assert_allclose(root.sum(axis=1), 1.0)
    bar = votes.filter(like="bar_").filter(like="_fraction")
    answered = votes["bar_total-votes"] > 0
    np.testing.assert_allclose(bar[answered].sum(axis=1), 1.0)
    assert bar[~answered].isna().all().all()
    derived = gzd5_labels(votes)
    agree = []
    for name in GZD5_QUESTIONS:
        both = derived[name].notna() & decals.labels[name].notna()
        assert both.sum() > 0.4 * decals.labels[name].notna().sum(), name
        agree.append((derived[name][both] == decals.labels[name][both]).mean())
    # Realistic: mostly right, not a copy of the truth.
    assert 0.85 < np.mean(agree) < 1.0


def test_survey_pairs_are_the_same_galaxies(pairs):
    decals, bass = pairs
    alone = make_galaxies(400, survey="decals", random_state=0)
    np.testing.assert_array_equal(alone.images, decals.images)
    pd.testing.assert_frame_equal(decals.labels, bass.labels)
    pd.testing.assert_frame_equal(decals.votes, bass.votes)
    assert bass.survey == "bass_mzls"
    # Same galaxy, same flux (up to noise); different images.
    clean = _clean(decals) & _clean(bass)
    r_flux = [_flux(b.images[clean]) for b in pairs]
    ratio = r_flux[1] / r_flux[0]
    assert abs(np.median(ratio) - 1) < 0.02
    assert np.percentile(np.abs(ratio - 1), 95) < 0.08
    assert not np.allclose(decals.images, bass.images)


def test_bass_is_blurrier_and_shallower(pairs):
    decals, bass = pairs
    for band in ("g", "r"):
        assert (
            bass.params[f"psf_fwhm_{band}"].median()
            > 1.15 * decals.params[f"psf_fwhm_{band}"].median()
        )
    # Sky noise from a corner free of galaxy light, g band.
    corner = [b.images[_clean(b), 0, :8, :8].std(axis=(1, 2)) for b in pairs]
    assert np.median(corner[1]) > 1.1 * np.median(corner[0])


def test_stars_and_defects():
    data = make_galaxies(60, star_fraction=1.0, defect_fraction=1.0, random_state=1)
    assert data.params["star"].all()
    kinds = data.params["defect"]
    assert set(kinds) == {"saturated_column", "masked_rows"}
    for i in np.flatnonzero(kinds == "masked_rows"):
        zero_rows = (data.images[i] == 0).all(axis=(0, 2))
        assert zero_rows.sum() >= 2
    for i in np.flatnonzero(kinds == "saturated_column"):
        # A bleed trail: at least half a column at one saturated value,
        # brighter than anything else in the cutout.
        at_max = data.images[i] == data.images[i].max()
        assert at_max.sum(axis=1).max() >= 32
    clean = make_galaxies(60, star_fraction=0.0, defect_fraction=0.0, random_state=1)
    assert not clean.params["star"].any() and (clean.params["defect"] == "none").all()


def test_large_images_and_pixel_scale():
    big = make_galaxies(3, image_size=256, random_state=0)
    assert big.images.shape == (3, 3, 256, 256)
    assert big.pixel_scale == pytest.approx(0.262)
    small = make_galaxies(3, image_size=64, random_state=0)
    assert small.pixel_scale == pytest.approx(4 * 0.262)
    # Same galaxies, same flux at either scale.
    np.testing.assert_allclose(_flux(big.images), _flux(small.images), rtol=0.05)


@pytest.mark.parametrize("survey", ["decals", "bass_mzls"])
def test_sky_noise_gives_the_survey_depth_at_any_pixel_scale(survey):
    # A point source measured with PSF weights has the survey's depth whether
    # the cutout's pixels are finer than the native ones (noise drawn on the
    # native grid and resampled) or coarser.
    from dataclasses import replace

    from scipy import ndimage

    from skgalvae.datasets._render import _noise

    conditions = replace(SURVEYS[survey], sky_residual=0.0)
    k, size = 6, 96
    fwhm = np.tile(conditions.seeing_fwhm, (k, 1))
    depth = np.tile(conditions.depth, (k, 1))
    expected = conditions.point_source_sigma(depth[0])
    for scale in (0.1, 0.262, 1.048):
        noise = _noise(
            np.zeros((k, 3, size, size)),
            conditions,
            fwhm,
            depth,
            scale,
            np.random.default_rng(0),
        )
        for band in range(3):
            # The PSF's Gaussian width in pixels, widened by the pixel.
            s = np.hypot(fwhm[0, band] / 2.3548 / scale, np.sqrt(1 / 12))
            half = int(np.ceil(3 * s))
            y, x = np.mgrid[-half : half + 1, -half : half + 1]
            psf = np.exp(-0.5 * (x**2 + y**2) / s**2)
            psf /= psf.sum()
            flux = (
                np.stack(
                    [ndimage.convolve(n, psf, mode="constant") for n in noise[:, band]]
                )
                / (psf**2).sum()
            )
            measured = flux[:, half:-half, half:-half].std()
            assert measured == pytest.approx(expected[band], rel=0.25), (scale, band)


def test_bad_parameters_are_named():
    with pytest.raises(InvalidParameterError, match="survey"):
        make_galaxies(5, survey="sdss")
    with pytest.raises(InvalidParameterError, match="n_samples"):
        make_galaxies(0)
    with pytest.raises(InvalidParameterError, match="star_fraction"):
        make_galaxies(5, star_fraction=1.5)
    assert set(SURVEYS) == {"decals", "bass_mzls"}


def test_a_survey_paired_with_itself_is_a_second_visit():
    first, second = make_survey_pairs(
        20, source="decals", target="decals", random_state=5
    )
    assert first.survey == second.survey == "decals"
    assert not np.array_equal(first.images, second.images)  # fresh noise
    np.testing.assert_array_equal(
        first.images, make_galaxies(20, random_state=5).images
    )
    # The same galaxies: the difference is noise, far below the galaxy signal.
    difference = (first.images - second.images)[:, 1].std()
    assert difference < 0.1 * first.images[:, 1].max(axis=(1, 2)).mean()


@pytest.mark.slow
def test_a_decals_encoder_sees_the_survey_shift():
    # The study's Sec. 5.1 in miniature: latents of the same galaxies move more
    # between DECaLS and BASS+MzLS than between two DECaLS visits, and most for
    # galaxies next to a bright star.
    from sklearn.pipeline import make_pipeline

    from skgalvae import VAETransformer
    from skgalvae.preprocessing import MTFStretch

    decals, bass = make_survey_pairs(600, star_fraction=0.15, random_state=0)
    _, again = make_survey_pairs(
        600, source="decals", target="decals", star_fraction=0.15, random_state=0
    )
    pipe = make_pipeline(
        MTFStretch(),
        VAETransformer(n_latent=8, max_epochs=6, batch_size=32, random_state=0),
    ).fit(decals.images[:400])
    test = slice(400, None)
    z, z_bass, z_again = (pipe.transform(b.images[test]) for b in (decals, bass, again))
    shift = ((z - z_bass) ** 2).mean(axis=1)
    floor = ((z - z_again) ** 2).mean(axis=1)
    star = decals.params["star"].to_numpy()[test]
    assert np.median(shift) > 1.2 * np.median(floor)  # 1.25-2.9 over seeds
    assert np.median(shift[star]) > 1.8 * np.median(shift[~star])
