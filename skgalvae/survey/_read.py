"""Reading an encoded survey back: zarr and parquet stores, FITS and ECSV files.

:func:`read_latents` is the one reader of every latent table skgalvae
writes, whatever wrote it (:func:`~skgalvae.survey.encode_survey` or
:func:`~skgalvae.survey.write_latents`).
"""

from __future__ import annotations

import os

import numpy as np

from ._stores import ParquetLatentStore, ZarrLatentStore, as_objects

#: Latent table files by suffix: astropy's format name for each.
TABLE_SUFFIXES = {".fits": "fits", ".fit": "fits", ".ecsv": "ascii.ecsv"}


def table_format(path):
    """Return astropy's format name for a latent table file, or None."""
    lowered = os.fspath(path).lower()
    for suffix, name in TABLE_SUFFIXES.items():
        if lowered.endswith(suffix):
            return name
    return None


def _open_for_reading(path):
    """Open the encoded survey at ``path``, naming what is wrong with it."""
    what = (
        "read_latents reads a .zarr or .parquet table from encode_survey, or a "
        ".fits or .ecsv file from write_latents"
    )
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist; {what}.")
    if not os.path.isdir(path):
        raise ValueError(f"{path} is a file, not a latent table; {what}.")
    is_parquet = os.path.exists(os.path.join(path, ParquetLatentStore._metadata_file))
    store_cls = ParquetLatentStore if is_parquet else ZarrLatentStore
    try:
        return store_cls.open(path)
    except Exception as exc:  # noqa: BLE001 - any damage has one description
        detail = str(exc).splitlines()[0][:200] if str(exc) else "no detail"
        raise ValueError(
            f"{path} is not a latent table skgalvae wrote, or it is damaged "
            f"({type(exc).__name__}: {detail}); {what}."
        ) from exc


def read_latents(path):
    """Read an encoded survey into a DataFrame, one row per galaxy.

    Parameters
    ----------
    path : str or path-like
        A ``.zarr`` group or ``.parquet`` directory written by
        :func:`~skgalvae.survey.encode_survey`, or a ``.fits`` or ``.ecsv``
        file written by :func:`~skgalvae.survey.write_latents`.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, the latent features (``vae0`` ...), their ``_std``
        columns if written, the source's per-row columns (``ra`` and ``dec``
        in degrees for FITS cutouts) and ``error`` ("" for a good row, else why the
        row could not be read; its latents are NaN). Only committed chunks
        are read: an unfinished run gives the rows done so far.
    """
    import pandas as pd

    path = os.fspath(path)
    if table_format(path) is not None:
        return read_table_file(path)
    store = _open_for_reading(path)
    is_parquet = store.format == "parquet"
    done = np.flatnonzero(store.done_chunks())
    if is_parquet:
        import pyarrow.parquet as pq

        frames = [pq.read_table(store._part(int(c))).to_pandas() for c in done]
        if frames:
            return pd.concat(frames, ignore_index=True)
        return pd.DataFrame(
            columns=[
                "id",
                *store.metadata["feature_names"],
                *store.row_columns,
                "error",
            ]
        )
    names = store.metadata["feature_names"]
    rows = np.concatenate([np.arange(*store.chunk_range(int(c))) for c in done] or [[]])
    rows = rows.astype(np.intp)
    group = store.group
    frame = pd.DataFrame({"id": as_objects(group["id"][:])[rows]})
    latents = group["latent"][:][rows]
    for i, name in enumerate(names):
        frame[name] = latents[:, i]
    if "latent_std" in group:
        std = group["latent_std"][:][rows]
        for i, name in enumerate(names):
            frame[f"{name}_std"] = std[:, i]
    for name in store.row_columns:
        frame[name] = group[name][:][rows]
    frame["error"] = as_objects(group["error"][:])[rows]
    return frame


def read_table_file(path):
    """Read a FITS or ECSV latent table into a DataFrame (see read_latents).

    Text columns come back as pandas strings, empty strings kept (FITS
    stores them as blanks, which astropy may hand over masked).
    """
    import pandas as pd
    from astropy.table import Table

    table = Table.read(os.fspath(path), format=table_format(path))
    frame = pd.DataFrame(index=pd.RangeIndex(len(table)))
    for name in table.colnames:
        column = table[name]
        values = np.ma.getdata(column)
        if values.dtype.kind in "SU":
            if values.dtype.kind == "S":
                values = np.char.decode(values, "utf-8")
            text = np.where(np.ma.getmaskarray(column), "", values)
            frame[name] = pd.Series(text, dtype="str")
        else:  # FITS is big-endian; pandas and torch want native order
            frame[name] = values.astype(values.dtype.newbyteorder("="))
    return frame
