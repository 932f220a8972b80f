"""Row ids of an image source: given, read from its store, or defaulted.

The latent table is keyed by them, so they must be one per row and unique.
"""

from __future__ import annotations

import numpy as np


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
    check_unique_ids(ids[:], reader.name)
    return ids


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
