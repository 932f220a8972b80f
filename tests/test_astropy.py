"""astropy in and out: the unit policy, FITS headers and WCS, latent tables
in FITS and ECSV, and astropy stretches as a Pipeline step."""

import os

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.visualization import (
    ImageNormalize,
    LogStretch,
    PercentileInterval,
    SqrtStretch,
    ZScaleInterval,
)
from astropy.wcs import WCS
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skgalvae import VAETransformer
from skgalvae.io import FITSDataset, read_fits, read_fits_header
from skgalvae.metrics import band_flux_ratio, ssim
from skgalvae.preprocessing import AstropyStretch, BandScaler, MTFStretch
from skgalvae.survey import encode_survey, latents_to_table, read_latents, write_latents

SMALL = dict(n_latent=3, hidden_dims=(8,), max_epochs=1, batch_size=8, random_state=0)


@pytest.fixture(scope="module")
def fluxes():
    rng = np.random.default_rng(0)
    return rng.gamma(2.0, 0.2, size=(24, 3, 16, 16)).astype(np.float32)


# --- units -------------------------------------------------------------------


def test_a_quantity_is_converted_to_the_fit_unit(fluxes):
    vae = VAETransformer(**SMALL).fit(fluxes * u.nJy)
    assert vae.input_unit_ == u.nJy
    z = vae.transform(fluxes * u.nJy)
    assert type(z) is np.ndarray  # latents have no unit
    z_micro = vae.transform((fluxes * u.nJy).to(u.uJy))  # values / 1000
    np.testing.assert_allclose(z_micro, z, atol=1e-5)
    # Without the conversion the latents would differ: the values are 1000x
    # smaller, so this check could fail.
    plain = VAETransformer(**SMALL).fit(fluxes)
    assert np.abs(plain.transform(fluxes / 1000) - plain.transform(fluxes)).max() > 1e-3
    decoded = vae.inverse_transform(z)
    assert decoded.unit == u.nJy and decoded.shape == fluxes.shape
    assert vae.reconstruct(fluxes * u.nJy).unit == u.nJy
    assert plain.input_unit_ is None and type(plain.inverse_transform(z)) is np.ndarray


def test_units_are_never_guessed(fluxes):
    fitted_with_unit = VAETransformer(**SMALL).fit(fluxes * u.nJy)
    with pytest.raises(ValueError, match="fitted on a Quantity in nJy, but X has no"):
        fitted_with_unit.transform(fluxes)
    with pytest.raises(ValueError, match="X is in m, which does not convert to nJy"):
        fitted_with_unit.transform(fluxes * u.m)
    fitted_plain = VAETransformer(**SMALL).fit(fluxes)
    with pytest.raises(ValueError, match="X is a Quantity in nJy, but VAETransformer"):
        fitted_plain.transform(fluxes * u.nJy)
    with pytest.raises(TypeError, match="x is an astropy Quantity in nJy; ssim"):
        ssim(fluxes * u.nJy, fluxes * u.nJy, data_range=1.0)
    with pytest.raises(TypeError, match="X is an astropy Quantity.*band_flux_ratio"):
        band_flux_ratio(fluxes * u.nJy, fluxes)


def test_preprocessing_steps_convert_and_give_plain_numbers(fluxes):
    pipe = make_pipeline(MTFStretch(), VAETransformer(**SMALL)).fit(fluxes * u.nJy)
    assert pipe[0].input_unit_ == u.nJy and pipe[1].input_unit_ is None
    np.testing.assert_allclose(
        pipe.transform((fluxes * u.nJy).to(u.Jy)),
        pipe.transform(fluxes * u.nJy),
        atol=1e-5,
    )
    scaler = BandScaler(scope="dataset").fit(fluxes * u.mJy)
    scaled = scaler.transform((fluxes * u.mJy).to(u.uJy))
    assert type(scaled) is np.ndarray
    np.testing.assert_allclose(scaled, scaler.transform(fluxes * u.mJy), atol=1e-5)


# --- FITS headers, WCS, ids and positions -------------------------------------


def _write_cutout(path, ra, dec, *, objid=None, wcs=True, keywords=False):
    header = fits.Header()
    if wcs:
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval = [ra, dec]
        w.wcs.crpix = [16.5, 16.5]  # the centre of 32 pixels, 1-based
        w.wcs.cdelt = [-0.262 / 3600, 0.262 / 3600]
        header = w.to_header()
    if keywords:
        header["RA"], header["DEC"] = ra, dec
    if objid is not None:
        header["OBJID"] = objid
    data = np.random.default_rng(objid or 0).random((3, 32, 32)).astype(">f4")
    fits.PrimaryHDU(data, header=header).writeto(path)
    return str(path)


@pytest.fixture
def cutouts(tmp_path):
    return [
        _write_cutout(tmp_path / f"g{i}.fits", 150.0 + 0.01 * i, 2.0 - 0.01 * i,
                      objid=9000 + i)
        for i in range(10)
    ]  # fmt: skip


def test_read_fits_returns_headers_wcs_ids_and_positions(cutouts, tmp_path):
    images, meta = read_fits(cutouts, return_meta=True, id_key="OBJID")
    assert images.shape == (10, 3, 32, 32)
    assert list(meta["id"]) == list(range(9000, 9010))
    assert list(meta["path"]) == cutouts
    assert meta["ra"].unit == u.deg
    np.testing.assert_allclose(meta["ra"], 150.0 + 0.01 * np.arange(10), atol=1e-9)
    np.testing.assert_allclose(meta["dec"], 2.0 - 0.01 * np.arange(10), atol=1e-9)
    assert meta["header"][3]["OBJID"] == 9003
    assert isinstance(meta["wcs"][0], WCS) and meta["wcs"][0].naxis == 2
    # Keywords stand in for a missing WCS; neither gives NaN, not a guess.
    by_keyword = _write_cutout(tmp_path / "k.fits", 10.5, -3.25, wcs=False,
                               keywords=True)  # fmt: skip
    bare = _write_cutout(tmp_path / "bare.fits", 0, 0, wcs=False)
    meta = FITSDataset([by_keyword, bare]).metadata()
    assert list(meta["ra"][:1]) == [10.5] and list(meta["dec"][:1]) == [-3.25]
    assert np.isnan(meta["ra"][1]) and np.isnan(meta["dec"][1])
    assert list(meta["id"]) == [by_keyword, bare]  # no id_key: the paths
    assert read_fits_header(bare)["NAXIS"] == 3
    with pytest.raises(KeyError, match="bare.fits has no header keyword 'OBJID'"):
        FITSDataset([bare], id_key="OBJID").ids()


@pytest.mark.parametrize("suffix", ["parquet", "zarr"])
def test_encode_survey_carries_header_ids_and_positions(cutouts, tmp_path, suffix):
    vae = VAETransformer(**SMALL).fit(read_fits(cutouts))
    broken = tmp_path / "broken.fits"
    broken.write_bytes(open(cutouts[0], "rb").read()[:4000])  # truncated pixels
    paths = [*cutouts, str(broken)]
    # The truncated copy of g0 has g0's header, so its id repeats.
    with pytest.raises(ValueError, match="ids must be unique.*9000"):
        encode_survey(
            vae, FITSDataset(paths, id_key="OBJID"), tmp_path / f"x.{suffix}",
            progress=False,
        )  # fmt: skip
    output = tmp_path / f"latents.{suffix}"
    with pytest.warns(UserWarning, match="1 rows"):
        encode_survey(vae, FITSDataset(paths), output, batch_size=4, progress=False)
    table = read_latents(output)
    assert list(table.columns) == ["id", "vae0", "vae1", "vae2", "ra", "dec", "error"]
    np.testing.assert_allclose(table["ra"][:10], 150.0 + 0.01 * np.arange(10))
    np.testing.assert_allclose(table["dec"][:10], 2.0 - 0.01 * np.arange(10))
    # The truncated file's header is whole: its position is known, its
    # latents are not.
    assert table["error"].iloc[10] != "" and np.isnan(table["vae0"].iloc[10])
    assert table["ra"].iloc[10] == pytest.approx(150.0)
    np.testing.assert_allclose(
        table[["vae0", "vae1", "vae2"]].to_numpy()[:10],
        vae.transform(read_fits(cutouts)),
        atol=1e-6,
    )


# --- latent tables in FITS and ECSV -------------------------------------------


def _latent_frame(ids):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"id": ids})
    for i in range(4):
        frame[f"vae{i}"] = rng.normal(size=len(ids)).astype(np.float32)
    frame.loc[2, ["vae0", "vae1", "vae2", "vae3"]] = np.nan
    frame["vae0_std"] = rng.random(len(ids)).astype(np.float32)
    frame["ra"] = rng.uniform(0, 360, len(ids))
    frame["dec"] = rng.uniform(-90, 90, len(ids))
    frame["error"] = pd.Series(
        ["" if i != 2 else "OSError: g2.fits is truncated" for i in range(len(ids))],
        dtype="str",
    )
    return frame


@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
@pytest.mark.parametrize(
    "ids",
    [
        pd.Series([f"J{i:04d}+0012" for i in range(6)], dtype="str"),
        np.arange(100, 106, dtype=np.int64),
    ],
    ids=["text ids", "integer ids"],
)
def test_latent_tables_round_trip_exactly(tmp_path, suffix, ids):
    frame = _latent_frame(ids)
    path = tmp_path / f"latents{suffix}"
    write_latents(frame, path)
    back = read_latents(path)
    pd.testing.assert_frame_equal(back, frame)
    table = latents_to_table(frame)
    assert table["ra"].unit == u.deg and table["vae0"].unit is None
    latents = [c for c in table.colnames if table[c].description]
    assert latents == ["vae0", "vae1", "vae2", "vae3", "vae0_std"]
    with pytest.raises(ValueError, match="exists; pass overwrite=True"):
        write_latents(frame, path)
    write_latents(table, path, overwrite=True)
    pd.testing.assert_frame_equal(read_latents(path), frame)


def test_an_encoded_survey_converts_to_fits(cutouts, tmp_path):
    vae = VAETransformer(**SMALL).fit(read_fits(cutouts))
    encode_survey(vae, FITSDataset(cutouts, id_key="OBJID"),
                  tmp_path / "z.zarr", progress=False)  # fmt: skip
    write_latents(tmp_path / "z.zarr", tmp_path / "z.fits")
    pd.testing.assert_frame_equal(
        read_latents(tmp_path / "z.fits"), read_latents(tmp_path / "z.zarr")
    )
    with pytest.raises(ValueError, match="Cannot tell the table format of 'z.csv'"):
        write_latents(read_latents(tmp_path / "z.zarr"), "z.csv")


# --- astropy stretches ----------------------------------------------------------


def test_astropy_stretch_is_image_normalize_per_band_of_each_image(fluxes):
    step = AstropyStretch(LogStretch(), PercentileInterval(99.0))
    out = step.fit_transform(fluxes)
    assert out.dtype == np.float32 and out.shape == fluxes.shape
    for image, band in [(0, 0), (5, 2), (23, 1)]:
        values = fluxes[image, band].astype(np.float64)
        norm = ImageNormalize(values, interval=PercentileInterval(99.0),
                              stretch=LogStretch(), clip=True)  # fmt: skip
        np.testing.assert_allclose(out[image, band], norm(values), atol=1e-6)
    # Per image: a brighter copy of an image gets the same output.
    brighter = fluxes.copy()
    brighter[0] *= 7.0
    np.testing.assert_allclose(step.transform(brighter)[0], out[0], atol=1e-5)
    zscale = AstropyStretch(SqrtStretch(), ZScaleInterval()).fit_transform(fluxes)
    assert 0.0 <= zscale.min() and zscale.max() <= 1.0
    unclipped = AstropyStretch(interval=PercentileInterval(50.0), clip=False)
    assert unclipped.fit_transform(fluxes).max() > 1.0


def test_astropy_stretch_in_a_pipeline_and_its_errors(fluxes):
    pipe = make_pipeline(
        AstropyStretch(SqrtStretch(), ZScaleInterval()), VAETransformer(**SMALL)
    )
    z = pipe.fit_transform(fluxes * u.nJy)
    assert z.shape == (24, 3)
    copy = clone(pipe)
    assert isinstance(copy[0].stretch, SqrtStretch) and copy[0].stretch is not (
        pipe[0].stretch
    )
    with pytest.raises(InvalidParameterError, match="'stretch' parameter"):
        AstropyStretch(stretch="log").fit(fluxes)
    with pytest.raises(InvalidParameterError, match="'interval' parameter"):
        AstropyStretch(interval=99.5).fit(fluxes)


def test_a_missing_header_file_is_named(cutouts):
    with pytest.raises(FileNotFoundError, match="FITS file not found: .*nope.fits"):
        read_fits_header(os.path.join(os.path.dirname(cutouts[0]), "nope.fits"))
