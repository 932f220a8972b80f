"""Readers keep the data or refuse it: never a silent cut to 8 bits."""

import struct
import zlib

import numpy as np
import pytest
from astropy.io import fits

from skgalvae import VAETransformer
from skgalvae.io import read_fits, read_images


def _png16(path, array):
    """Write a 16-bit PNG (greyscale or RGB) by hand: Pillow cannot."""
    height, width = array.shape[:2]
    colour = 2 if array.ndim == 3 else 0
    rows = b"".join(b"\0" + array[i].astype(">u2").tobytes() for i in range(height))

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture
def deep(tmp_path):
    rng = np.random.default_rng(0)
    return (rng.random((64, 64, 3)) * 65535).astype(np.uint16)


def test_a_16_bit_greyscale_png_is_refused(tmp_path, deep):
    path = _png16(tmp_path / "grey16.png", deep[..., 0])
    with pytest.raises(ValueError, match=r"grey16.png holds pixels deeper than 8"):
        read_images([path], mode="L")


def test_a_48_bit_colour_png_is_refused(tmp_path, deep):
    path = _png16(tmp_path / "rgb16.png", deep)
    with pytest.raises(ValueError, match=r"rgb16.png holds pixels deeper.*RGB;16"):
        read_images([path])


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_deep_tiffs_are_refused(tmp_path, deep, dtype):
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "cutout.tif"
    tifffile.imwrite(path, deep[..., 0].astype(dtype))
    with pytest.raises(ValueError, match="cutout.tif holds pixels deeper than 8"):
        read_images([path])


def test_a_fits_file_given_to_read_images_points_to_read_fits(tmp_path, deep):
    path = tmp_path / "cutout.fits"
    fits.PrimaryHDU(deep[..., 0].astype(np.float32)).writeto(path)
    with pytest.raises(ValueError, match=r"cutout.fits is a FITS file.*read_fits"):
        read_images([path])
    assert read_fits([path]).max() == deep[..., 0].max()  # where it belongs


def test_a_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    with pytest.raises(OSError, match=r"Could not read .*notes.png as an image"):
        read_images([path])


def test_eight_bit_pictures_still_read_exactly(tmp_path, deep):
    from PIL import Image

    pixels = (deep[..., 0] >> 8).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "grey8.png")
    np.testing.assert_array_equal(
        read_images([tmp_path / "grey8.png"], mode="L")[0, 0], pixels
    )


def test_a_deep_png_in_a_streamed_fit_is_refused_naming_it(tmp_path, deep):
    from PIL import Image

    good = tmp_path / "good.png"
    Image.fromarray((deep >> 8).astype(np.uint8)).save(good)
    bad = _png16(tmp_path / "bad16.png", deep)
    with pytest.raises(ValueError, match="bad16.png holds pixels deeper"):
        VAETransformer(n_latent=2, max_epochs=1).fit([str(good), str(bad)])
