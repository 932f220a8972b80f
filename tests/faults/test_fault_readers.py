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


# Reading a FIFO blocks forever, and /dev/zero never ends: each read runs in
# a subprocess with a time limit, so that a regression fails instead of hanging.
_READ = """
import sys
from skgalvae.io import read_fits, read_images, read_path_list
reader = {"fits": read_fits, "image": read_images, "list": read_path_list}
try:
    reader[sys.argv[1]](sys.argv[2])
except OSError as exc:
    print(exc)
"""


def _read_in_subprocess(kind, path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _READ, kind, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize(
    "kind, name", [("fits", "g.fits"), ("image", "g.png"), ("list", "g.txt")]
)
def test_a_fifo_is_refused_before_it_is_opened(tmp_path, kind, name):
    import os

    fifo = tmp_path / name
    os.mkfifo(fifo)
    message = _read_in_subprocess(kind, fifo)
    assert f"{fifo} is a FIFO (named pipe), not a regular file" in message


@pytest.mark.skipif(not __import__("os").path.exists("/dev/zero"), reason="no /dev")
def test_a_link_to_a_device_is_refused(tmp_path):
    link = tmp_path / "endless.fits"
    link.symlink_to("/dev/zero")
    message = _read_in_subprocess("fits", link)
    assert "is a character device, not a regular file" in message


def test_a_directory_named_like_a_file_is_refused(tmp_path):
    folder = tmp_path / "cutout.fits"
    folder.mkdir()
    with pytest.raises(OSError, match="is a directory, not a regular file"):
        read_fits(folder)


def test_a_fifo_among_the_cutouts_of_a_streamed_fit_is_named(tmp_path):
    import os

    paths = []
    for i in range(3):
        path = tmp_path / f"g{i}.fits"
        fits.writeto(path, np.random.default_rng(i).random((64, 64), dtype=np.float32))
        paths.append(str(path))
    os.mkfifo(tmp_path / "g3.fits")
    paths.append(str(tmp_path / "g3.fits"))
    with pytest.raises(OSError, match="g3.fits is a FIFO"):
        VAETransformer(n_latent=2, max_epochs=1).fit(paths)
