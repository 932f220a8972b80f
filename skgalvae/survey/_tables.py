"""Latent tables as astropy Tables, in FITS and ECSV files.

:func:`read_latents` gives a pandas DataFrame; astronomers' tools (TOPCAT,
astropy, Aladin) read FITS and ECSV. :func:`latents_to_table` converts,
giving ``ra`` and ``dec`` their unit, and :func:`write_latents` writes either
format so that reading it back with :func:`read_latents` is exact: the same
ids, latents (float32, NaN kept), positions and error messages.
"""

from __future__ import annotations

import os

import numpy as np

from ._read import TABLE_SUFFIXES, read_latents, table_format
from ._stores import is_latent_column

_DEGREE_COLUMNS = ("ra", "dec")


def latents_to_table(latents):
    """Return a latent table as an astropy Table.

    Parameters
    ----------
    latents : pandas.DataFrame or str or path-like
        A table from :func:`read_latents`, or the path of one.

    Returns
    -------
    astropy.table.Table
        The same columns; ``ra`` and ``dec`` in degrees (``u.deg``), text
        columns as str, and latent columns described as such (ECSV keeps the
        descriptions).
    """
    import astropy.units as u
    import pandas as pd
    from astropy.table import Table

    if not isinstance(latents, (pd.DataFrame, str, os.PathLike)):
        raise TypeError(
            f"latents must be a pandas DataFrame (as read_latents returns), an "
            f"astropy Table or the path of an encoded survey; got "
            f"{type(latents).__name__}. For an array of latents, make a table "
            f"with an id column first, e.g. pd.DataFrame(Z).add_prefix('vae')."
        )
    frame = latents if isinstance(latents, pd.DataFrame) else read_latents(latents)
    table = Table()
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype.kind == "O":
            values = _text_or_numbers(values, name)
        table[str(name)] = values
        if name in _DEGREE_COLUMNS:
            table[name].unit = u.deg
    for name in table.colnames:
        if is_latent_column(name):
            table[name].description = "latent: posterior mean"
        elif name.endswith("_std") and is_latent_column(name[: -len("_std")]):
            table[name].description = "latent: posterior standard deviation"
    return table


def _text_or_numbers(values, name):
    kinds = {type(v) for v in values}
    if kinds <= {str}:
        return values.astype(str)
    if all(isinstance(v, (int, np.integer)) for v in values):
        return values.astype(np.int64)
    raise TypeError(
        f"Column {name!r} mixes {sorted(k.__name__ for k in kinds)}; a FITS or "
        f"ECSV column holds one type."
    )


def write_latents(latents, path, *, overwrite: bool = False) -> None:
    """Write a latent table to a FITS (``.fits``) or ECSV (``.ecsv``) file.

    Parameters
    ----------
    latents : pandas.DataFrame, astropy.table.Table, or str or path-like
        A table from :func:`read_latents` or :func:`latents_to_table`, or the
        path of an encoded survey (zarr or parquet).
    path : str or path-like
        The file to write; the suffix picks the format.
    overwrite : bool, default=False
        Replace an existing file.

    Raises
    ------
    ValueError
        If the suffix is neither, or the file exists and ``overwrite`` is False.

    Examples
    --------
    >>> import pandas as pd
    >>> from skgalvae.survey import read_latents, write_latents
    >>> table = pd.DataFrame({"id": ["a", "b"], "vae0": [0.5, -1.0],
    ...                       "ra": [150.1, 150.2], "dec": [2.2, 2.3],
    ...                       "error": ["", ""]})
    >>> path = getfixture("tmp_path") / "latents.fits"
    >>> write_latents(table, path)
    >>> read_latents(path).equals(table)
    True
    """
    from astropy.table import Table

    format = table_format(path)
    if format is None:
        raise ValueError(
            f"Cannot tell the table format of {os.fspath(path)!r}: end it in "
            f"{', '.join(TABLE_SUFFIXES)}."
        )
    if os.path.exists(path) and not overwrite:
        raise ValueError(
            f"{os.fspath(path)} exists; pass overwrite=True to replace it."
        )
    table = latents if isinstance(latents, Table) else latents_to_table(latents)
    _check_text_round_trip(table, format, path)
    table.write(os.fspath(path), format=format, overwrite=overwrite)


def _check_text_round_trip(table, format, path):
    """Refuse text the format would not give back exactly, naming the rows.

    FITS text is ASCII and loses trailing blanks ("a" and "a " would merge);
    ECSV, a CSV, loses leading and trailing blanks.
    """
    for name in table.colnames:
        values = np.ma.getdata(table[name])
        if values.dtype.kind != "U":
            continue
        text = values.astype(object)
        if format == "fits":
            bad = [i for i, v in enumerate(text) if v != v.rstrip() or not v.isascii()]
            why = "FITS text columns hold ASCII without trailing blanks"
        else:
            bad = [i for i, v in enumerate(text) if v != v.strip()]
            why = "ECSV text columns lose leading and trailing blanks"
        if bad:
            shown = ", ".join(f"{text[i]!r} (row {i})" for i in bad[:3])
            raise ValueError(
                f"Column {name!r} cannot be written to {os.fspath(path)} exactly: "
                f"{why}, and {len(bad)} value(s) would change: {shown}. Write a "
                f"parquet or zarr table instead (encode_survey's output keeps "
                f"them), or change those values."
            )
