"""Row ids of an image source: given, read from its store, or defaulted.

The latent table is keyed by them, so they must be one per row and unique.
"""

from __future__ import annotations

import numpy as np

from ._stores import plain


def resolve_ids(ids, reader, container):
    """Return the row ids as an indexable array of ``reader.n_rows`` entries.

    ``ids`` is None (file paths for files, else row numbers), an array-like,
    or the name of an array in the source's store.
    """
    n = reader.n_rows
    if ids is None:
        default = reader.default_ids
        if default is None:
            return np.arange(n, dtype=np.int64)
        default = normalise_ids(default, reader.name)
        check_unique_ids(default, reader.name)
        return default
    if isinstance(ids, str):
        if container is None or ids not in container:
            raise KeyError(
                f"ids={ids!r} names an array in the source's store, but "
                f"{reader.name} has no such array."
            )
        ids = container[ids]
    else:
        ids = np.asarray(ids)
    if ids.ndim != 1 or ids.shape[0] != n:
        raise ValueError(
            f"ids must hold one id per row of {reader.name} ({n}); got shape "
            f"{tuple(ids.shape)}."
        )
    ids = normalise_ids(ids[:], reader.name)
    check_unique_ids(ids, reader.name)
    return ids


_INT64_MAX = np.iinfo(np.int64).max


def _refuse(kind, rows, values, source_name, hint):
    shown = ", ".join(f"{plain(values[r])!r} (row {r})" for r in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    raise ValueError(
        f"ids must be integers or strings, kept exactly in every output format; "
        f"{source_name}'s ids hold {kind}: {shown}{more}. {hint}"
    )


def normalise_ids(ids, source_name):
    """Return ids as int64 or as Python strings; refuse any other kind by name.

    One policy for every output (zarr, parquet, FITS, ECSV): an id is an
    integer that fits in int64, or a string, and comes back as it went in.
    Floats (0.1 would become 0), unsigned integers above ``2**63 - 1``,
    booleans, dates, bytes, None and NaN, and a mix of integers and strings
    are refused, naming the first rows.

    Parameters
    ----------
    ids : array-like of shape (n_rows,)
        The ids of the rows.
    source_name : str
        The image source's name, for the message.

    Returns
    -------
    ndarray
        ``int64``, or ``object`` holding ``str``.
    """
    values = np.asarray(ids)
    kind = values.dtype.kind
    to_strings = "pass them as strings (e.g. ids.astype(str)) to keep them exact"
    if kind in "iu":
        if kind == "u" and values.dtype.itemsize == 8:
            rows = np.flatnonzero(values > _INT64_MAX)
            if len(rows):
                hint = f"They do not fit an integer column: {to_strings}."
                _refuse("integers above 2**63 - 1", rows, values, source_name, hint)
        return values.astype(np.int64)
    if kind == "U":
        return values.astype(object)
    if kind != "O":
        names = {
            "f": "floats",
            "b": "booleans",
            "M": "dates",
            "m": "durations",
            "S": "bytes",
            "c": "complex numbers",
        }
        what = names.get(kind, f"{values.dtype} values")
        rows = np.arange(min(len(values), 3))
        hint = f"An id column holds integers or strings: {to_strings}."
        _refuse(what, rows, values, source_name, hint)
    is_str = np.fromiter((type(v) is str for v in values), bool, len(values))
    if is_str.all():
        return values
    is_int = np.fromiter(
        (
            isinstance(v, (int, np.integer))
            and not isinstance(v, (bool, np.bool_))
            and -_INT64_MAX - 1 <= v <= _INT64_MAX
            for v in values
        ),
        bool,
        len(values),
    )
    if is_int.all():
        return values.astype(np.int64)
    if (is_int | is_str).all():
        rows = np.flatnonzero(is_str if is_int.sum() >= is_str.sum() else is_int)
        hint = f"One id column holds one type: {to_strings}."
        _refuse("a mix of integers and strings", rows, values, source_name, hint)
    rows = np.flatnonzero(~(is_int | is_str))
    hint = "Give every row an integer or a string id."
    _refuse("values that are neither", rows, values, source_name, hint)


def check_unique_ids(ids, source_name):
    """Raise if an id repeats: the output table is keyed by them.

    Parameters
    ----------
    ids : array-like of shape (n_rows,)
        The ids (or file paths) of the rows.
    source_name : str
        The image source's name, for the message.
    """
    import pandas as pd

    values = np.asarray(ids)
    repeated = pd.Index(values).duplicated(keep=False)
    if not repeated.any():
        return
    rows = np.flatnonzero(repeated)
    first = values[rows[0]]
    same = rows[values[rows] == first]
    n_ids = len(pd.unique(values[rows]))
    first = first.item() if isinstance(first, np.generic) else first
    raise ValueError(
        f"ids must be unique, since the latent table is keyed by them; {first!r} "
        f"is at rows {', '.join(map(str, same[:5]))}{' ...' if len(same) > 5 else ''}"
        f" of {source_name} ({n_ids} id(s) repeat)."
    )
