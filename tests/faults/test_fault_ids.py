"""One id policy for every output: integers or strings, back exactly as given.

Ids of any other kind (floats, huge unsigned integers, dates, bytes, None,
NaN, a mix of integers and strings) are refused before anything is written,
naming the first rows; text that FITS or ECSV cannot hold exactly is refused
by ``write_latents`` naming the values.
"""

import datetime

import numpy as np
import pandas as pd
import pytest

from skgalvae.survey import encode_survey, read_latents, write_latents

SUFFIXES = [".parquet", ".zarr"]

REFUSED = [
    ("floats", np.array([0.1, 0.2, 0.3, 0.4]), r"floats: 0\.1 \(row 0\)"),
    (
        "uint64",
        np.array([1, 2, 2**63, 2**64 - 1], dtype=np.uint64),
        r"integers above 2\*\*63 - 1: 9223372036854775808 \(row 2\)",
    ),
    ("nan", np.array(["a", "b", np.nan, "d"], dtype=object), r"neither: nan \(row 2\)"),
    ("none", np.array([1, None, 3, 4], dtype=object), r"neither: None \(row 1\)"),
    (
        "dates",
        np.array(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"], "M8[D]"),
        "dates",
    ),
    ("bytes", np.array([b"a", b"b", b"c", b"d"]), "bytes"),
    ("bools", np.array([True, False, True, False], dtype=object), "neither"),
    (
        "mixed",
        np.array([1, 2, "c", 4], dtype=object),
        r"a mix of integers and strings: 'c' \(row 2\)",
    ),
    (
        "datetime objects",
        np.array([datetime.date(2020, 1, d) for d in (1, 2, 3, 4)], dtype=object),
        "neither",
    ),
]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case[0])
def test_ids_that_would_change_are_refused_before_writing(
    fitted_vae, images, tmp_path, suffix, case
):
    _, ids, message = case
    output = tmp_path / f"latents{suffix}"
    with pytest.raises(ValueError, match=message):
        encode_survey(fitted_vae, images[:4], output, ids=ids, progress=False)
    assert not output.exists()


KEPT = [
    ("python ints", np.array([3, -1, 2**62, 7], dtype=object), int),
    ("int8", np.array([3, -1, 5, 7], dtype=np.int8), int),
    ("uint64 that fit", np.array([1, 2, 3, 2**63 - 1], dtype=np.uint64), int),
    ("text", np.array(["a", "a ", " a", "é gal"], dtype=object), str),
    ("numpy str", np.array(["g1", "g2", "g10", "x"]), str),
]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("case", KEPT, ids=lambda case: case[0])
def test_integer_and_string_ids_come_back_exactly(
    fitted_vae, images, tmp_path, suffix, case
):
    _, ids, kind = case
    output = tmp_path / f"latents{suffix}"
    encode_survey(fitted_vae, images[:4], output, ids=ids, progress=False)
    back = list(read_latents(output)["id"])
    assert [type(v) for v in back] == [kind] * 4 or all(
        isinstance(v, (int, np.integer)) for v in back
    )
    assert [kind(v) for v in back] == [kind(v) for v in ids]


def _table(ids, errors=("", "", "", "")):
    return pd.DataFrame(
        {"id": ids, "vae0": [0.5, -1.0, 2.0, 3.0], "error": list(errors)}
    )


def test_fits_refuses_text_it_would_change(tmp_path):
    with pytest.raises(ValueError, match=r"Column 'id'.*'a ' \(row 1\)"):
        write_latents(_table(["a", "a ", "b", "c"]), tmp_path / "t.fits")
    with pytest.raises(ValueError, match=r"ASCII.*'é' \(row 3\)"):
        write_latents(_table(["a", "b", "c", "é"]), tmp_path / "t.fits")
    message = r"Column 'error'.*1 value\(s\) would change"
    with pytest.raises(ValueError, match=message):
        errors = ("", "", "OSError: cannot read /data/ñ.fits", "")
        write_latents(_table(["a", "b", "c", "d"], errors), tmp_path / "t.fits")
    assert not (tmp_path / "t.fits").exists()


def test_ecsv_refuses_blanks_at_the_ends_and_keeps_unicode(tmp_path):
    with pytest.raises(ValueError, match=r"ECSV.*' a' \(row 0\)"):
        write_latents(_table([" a", "b", "c", "d"]), tmp_path / "t.ecsv")
    table = _table(["é", "b c", "ñandú", "d"])
    write_latents(table, tmp_path / "t.ecsv")
    back = read_latents(tmp_path / "t.ecsv")
    assert list(back["id"]) == ["é", "b c", "ñandú", "d"]


def test_fits_keeps_plain_text_and_integers_exactly(tmp_path):
    write_latents(_table(["a", "b c", "d", "e"]), tmp_path / "t.fits")
    assert list(read_latents(tmp_path / "t.fits")["id"]) == ["a", "b c", "d", "e"]
    ints = _table(np.array([2**62, -5, 0, 7], dtype=np.int64))
    write_latents(ints, tmp_path / "i.fits")
    assert list(read_latents(tmp_path / "i.fits")["id"]) == [2**62, -5, 0, 7]
