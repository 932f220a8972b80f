"""Find the galaxies nearest to a query in latent space."""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from ..survey._stores import is_latent_column
from ..utils._units import refuse_quantity

__all__ = ["similar_galaxies"]


def _latent_table(latents):
    """Split ``latents`` into a float matrix, the ids (or None) and usable rows.

    A table from :func:`~skgalvae.survey.read_latents` has an ``id`` column,
    the latent columns, maybe their ``_std`` columns, ``ra`` and ``dec``, and
    an ``error`` column;
    rows with an error hold NaN latents and can never be a neighbour.
    """
    if isinstance(latents, pd.DataFrame):
        ids = latents["id"].to_numpy() if "id" in latents else None
        if ids is None and not isinstance(latents.index, pd.RangeIndex):
            ids = latents.index.to_numpy()  # ids kept as the index
        columns = _latent_columns(latents)
        not_numeric = [
            c for c in columns if not pd.api.types.is_numeric_dtype(latents[c])
        ]
        if not_numeric:
            raise ValueError(
                f"latents: column(s) {not_numeric} are not numbers; pass a table "
                "of an id, latent and error columns (read_latents) or an array."
            )
        Z = latents[columns].to_numpy(dtype=np.float64)
    else:
        ids = None
        Z = np.asarray(latents, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] == 0:
        raise ValueError(
            f"latents must have shape (n_galaxies, n_latent); got {Z.shape}."
        )
    usable = np.isfinite(Z).all(axis=1)
    return Z, ids, usable


def _refuse_zero_vectors(Z, rows, vectors):
    """Cosine distance has no meaning for a zero vector: refuse, naming it."""
    zero = np.flatnonzero(~np.any(Z != 0, axis=1))
    if zero.size:
        raise ValueError(
            f"metric='cosine', but row {int(rows[zero[0]])} of latents is all "
            f"zeros ({zero.size} such rows): it has no direction, so its cosine "
            f"distance to anything is undefined. Use metric='euclidean', or drop "
            f"those rows."
        )
    if not np.any(vectors != 0, axis=1).all():
        raise ValueError(
            "metric='cosine', but a query is all zeros: it has no direction. Use "
            "metric='euclidean'."
        )


def _latent_columns(frame):
    """Return the latent columns: one name stem, numbered (``vae0``, ``vae1``).

    Another column (a ``redshift`` joined from a catalogue) is refused by
    name rather than used as one more latent.
    """
    candidates = [c for c in frame.columns if is_latent_column(c)]
    stems = {}
    for name in candidates:
        match = re.fullmatch(r"(.*?)(\d+)", str(name))
        stems.setdefault(match.group(1) if match else None, []).append(name)
    numbered = {stem: names for stem, names in stems.items() if stem is not None}
    if not numbered:
        return candidates  # no numbered latents: every other column is one
    stem = max(numbered, key=lambda key: len(numbered[key]))
    others = [name for name in candidates if name not in numbered[stem]]
    text = [name for name in others if not pd.api.types.is_numeric_dtype(frame[name])]
    if text:  # refused below, as not numbers
        return numbered[stem] + text
    if others:
        raise ValueError(
            f"latents has column(s) {others} beside its latents "
            f"{numbered[stem][:2]}...; select the latent columns first "
            f"(latents[[...]]), or drop those."
        )
    return numbered[stem]


def _query_rows(query, n_rows, usable):
    """Row positions asked for: an int or a sequence of ints, checked."""
    rows = np.atleast_1d(np.asarray(query))
    if rows.dtype.kind not in "iu" or rows.ndim != 1:
        raise TypeError(
            "query must be a row position, a sequence of row positions or a "
            f"2-d array of latent vectors; got {np.asarray(query).dtype} of "
            f"shape {np.shape(query)}."
        )
    outside = rows[(rows < -n_rows) | (rows >= n_rows)]
    if outside.size:
        raise IndexError(
            f"query row {int(outside[0])} is outside latents' {n_rows} rows."
        )
    rows = rows % n_rows
    broken = rows[~usable[rows]]
    if broken.size:
        raise ValueError(
            f"query row {int(broken[0])} has non-finite latents (an unreadable "
            "cutout); it has no neighbours."
        )
    return rows


def similar_galaxies(
    latents,
    query,
    n_neighbors: int = 10,
    *,
    metric: str = "euclidean",
    standardize: bool = False,
) -> pd.DataFrame:
    """Find the galaxies most like the query galaxies in latent space.

    A thin layer over :class:`sklearn.neighbors.NearestNeighbors` that speaks
    in galaxies: it takes an encoded survey table, returns ids and keeps
    unreadable rows out of the answers.

    Parameters
    ----------
    latents : array-like of shape (n_galaxies, n_latent) or pandas.DataFrame
        The latents to search, as from ``transform``, or a table from
        :func:`skgalvae.survey.read_latents` (its ``id`` column is carried
        into the result; its ``_std`` and ``error`` columns are not
        features). Rows with non-finite latents (unreadable cutouts) are
        never returned.
    query : int, sequence of int, or array-like of shape (n_queries, n_latent)
        Row positions in ``latents`` (a galaxy is not its own neighbour), or
        latent vectors of other galaxies, for example ``model.transform`` of
        new cutouts (floats, 2-d).
    n_neighbors : int, default=10
        Neighbours per query.
    metric : str, default="euclidean"
        Any metric :class:`~sklearn.neighbors.NearestNeighbors` accepts,
        for example ``"cosine"``.
    standardize : bool, default=False
        Scale each latent to zero mean and unit spread over the searchable
        rows (query vectors alike) before searching, so that every latent
        counts the same. Drop inactive latents first (a VAE's
        ``active_latents_``): standardising one blows its noise up.

    Returns
    -------
    pandas.DataFrame
        One row per query and neighbour, nearest first: ``query`` (the
        query's row position, or its index among the given vectors),
        ``rank`` (1 is nearest), ``row`` (the neighbour's row position in
        ``latents``), ``id`` (when ``latents`` has ids) and ``distance``.

    Raises
    ------
    ValueError
        If the latents or vectors have the wrong shape, a query row is
        unreadable, or fewer than ``n_neighbors`` other galaxies are usable.

    See Also
    --------
    invariant_latents : Latents averaged over flips and quarter turns, whose
        neighbours are alike whatever their orientation.

    Notes
    -----
    Exact search: a tree or brute force as scikit-learn chooses, which
    answers a few queries over millions of 40-d latents in seconds. For
    millions of queries, build an approximate index on the same latents.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.inspection import similar_galaxies
    >>> Z = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [0.0, 0.2]])
    >>> similar_galaxies(Z, 0, n_neighbors=2)[["query", "rank", "row"]]
       query  rank  row
    0      0     1    1
    1      0     2    3
    """
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral):
        raise TypeError(f"n_neighbors must be an int; got {n_neighbors!r}.")
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors must be at least 1; got {n_neighbors}.")
    refuse_quantity(latents, "latents", "similar_galaxies")
    refuse_quantity(query, "query", "similar_galaxies")
    Z, ids, usable = _latent_table(latents)
    vectors = np.asarray(query)
    by_vector = vectors.ndim == 2 and vectors.dtype.kind == "f"
    if by_vector:
        if vectors.shape[1] != Z.shape[1]:
            raise ValueError(
                f"query vectors have {vectors.shape[1]} latents; latents has "
                f"{Z.shape[1]}."
            )
        if not np.isfinite(vectors).all():
            bad = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
            raise ValueError(f"query vector {bad} has non-finite values.")
        labels = np.arange(len(vectors))
    else:
        labels = _query_rows(query, len(Z), usable)
        vectors = Z[labels]
    searchable = np.flatnonzero(usable)
    if standardize:
        mean = Z[searchable].mean(axis=0)
        spread = Z[searchable].std(axis=0)
        if (spread == 0).any():
            flat = int(np.flatnonzero(spread == 0)[0])
            raise ValueError(
                f"standardize=True, but latent {flat} is the same for every "
                "galaxy; drop it first."
            )
        Z = (Z - mean) / spread
        vectors = (vectors - mean) / spread
    if metric == "cosine":
        _refuse_zero_vectors(Z[searchable], searchable, vectors)
    extra = 0 if by_vector else 1  # the query itself comes back first
    if len(searchable) - extra < n_neighbors:
        raise ValueError(
            f"n_neighbors={n_neighbors}, but latents has only "
            f"{len(searchable) - extra} other usable galaxies."
        )
    index = NearestNeighbors(metric=metric).fit(Z[searchable])
    distance, position = index.kneighbors(vectors, n_neighbors + extra)
    found = searchable[position]
    frames = []
    for i, label in enumerate(labels):
        rows, dist = found[i], distance[i]
        if not by_vector:  # drop the query itself, wherever ties put it
            keep = rows != label
            rows, dist = rows[keep][:n_neighbors], dist[keep][:n_neighbors]
        frame = {
            "query": label,
            "rank": np.arange(1, n_neighbors + 1),
            "row": rows,
        }
        if ids is not None:
            frame["id"] = ids[rows]
        frame["distance"] = dist
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)
