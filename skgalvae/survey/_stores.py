"""Where latents go: chunked stores whose chunks are committed atomically.

A store holds ``n_rows`` rows in chunks of ``chunk_rows``. Writing a chunk and
marking it done are one step as seen from outside: a run killed at any point
leaves every chunk either complete or not done, so a resumed run redoes
exactly the chunks that are not done. Each row holds its id, its latents
(NaN for a row that could not be read), optionally their posterior standard
deviations, the source's per-row columns (a FITS cutout's ``ra`` and
``dec``), and an error message (empty for a good row).

- :class:`ZarrLatentStore`: a zarr group (``latent``, ``latent_std``, ``id``,
  ``error`` arrays and a ``done`` flag per chunk, each flag its own zarr chunk
  so writers never share an object).
- :class:`ParquetLatentStore`: a directory of one parquet file per chunk,
  each written under a temporary name and renamed into place; pandas and
  pyarrow read the directory as one table.
"""

from __future__ import annotations

import json
import os
import shutil
from abc import ABC, abstractmethod

import numpy as np

_METADATA_KEY = "skgalvae_encoding"

#: Columns of a latent table that describe a row rather than encode it.
DESCRIPTIVE_COLUMNS = ("id", "path", "ra", "dec", "error")


def is_latent_column(name) -> bool:
    """Whether column ``name`` of a latent table holds latents (not ``_std``)."""
    return name not in DESCRIPTIVE_COLUMNS and not str(name).endswith("_std")


class LatentStore(ABC):
    """A chunked table of latents with atomic per-chunk commits."""

    format = None

    def __init__(self, path, metadata):
        self.path = os.fspath(path)
        self.metadata = metadata

    @property
    def n_rows(self) -> int:
        """Number of rows of the survey."""
        return self.metadata["n_rows"]

    @property
    def chunk_rows(self) -> int:
        """Rows per chunk."""
        return self.metadata["chunk_rows"]

    @property
    def n_chunks(self) -> int:
        """Number of chunks."""
        return -(-self.n_rows // self.chunk_rows)

    def chunk_range(self, chunk: int) -> tuple[int, int]:
        """Row range ``(start, stop)`` of ``chunk``."""
        start = chunk * self.chunk_rows
        return start, min(start + self.chunk_rows, self.n_rows)

    @classmethod
    @abstractmethod
    def create(cls, path, metadata, id_dtype):
        """Create an empty store at ``path``; ``metadata`` names the columns."""

    @classmethod
    @abstractmethod
    def open(cls, path):
        """Open an existing store."""

    @abstractmethod
    def done_chunks(self) -> np.ndarray:
        """Boolean array, one flag per chunk: committed or not."""

    @property
    def row_columns(self) -> list:
        """Names of the source's per-row columns stored (e.g. ``ra``, ``dec``)."""
        return list(self.metadata.get("row_columns", []))

    @abstractmethod
    def write_chunk(self, chunk, ids, latents, latent_std, errors, columns):
        """Write and commit one chunk's rows.

        ``errors`` holds a str per row ("" if ok); ``columns`` one float array
        per name of :attr:`row_columns`.
        """

    @abstractmethod
    def read_column(self, chunk, name):
        """Read the ``"id"`` or ``"error"`` column of a committed chunk."""

    def failures(self) -> dict:
        """Id to error message of every failed row in committed chunks."""
        failed = {}
        for chunk in np.flatnonzero(self.done_chunks()):
            errors = self.read_column(int(chunk), "error")
            bad = np.flatnonzero(errors != "")
            if len(bad):  # ids are read only for chunks with failures
                ids = self.read_column(int(chunk), "id")
                failed.update({plain(ids[row]): str(errors[row]) for row in bad})
        return failed


def plain(value):
    """Return a numpy scalar as a plain Python value (for dict keys and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def as_objects(values):
    """Return strings (zarr gives numpy's StringDType) as an object array."""
    values = np.asarray(values)
    return values.astype(object) if values.dtype.kind in "OUST" else values


def _is_string_dtype(dtype) -> bool:
    return np.dtype(dtype).kind in "OUST"


class ZarrLatentStore(LatentStore):
    """Latents in a zarr group, chunked along rows."""

    format = "zarr"

    @classmethod
    def create(cls, path, metadata, id_dtype):
        """Create the group and its arrays, all rows not done."""
        import zarr

        group = zarr.open_group(os.fspath(path), mode="w")
        n, rows, k = metadata["n_rows"], metadata["chunk_rows"], metadata["n_latent"]
        for name in ("latent", "latent_std") if metadata["std"] else ("latent",):
            group.create_array(
                name, shape=(n, k), chunks=(rows, k), dtype="f4", fill_value=np.nan
            )
        id_kind = str if _is_string_dtype(id_dtype) else "i8"
        group.create_array("id", shape=(n,), chunks=(rows,), dtype=id_kind)
        group.create_array("error", shape=(n,), chunks=(rows,), dtype=str)
        for name in metadata.get("row_columns", []):
            group.create_array(
                name, shape=(n,), chunks=(rows,), dtype="f8", fill_value=np.nan
            )
        n_chunks = -(-n // rows)
        group.create_array(
            "done", shape=(n_chunks,), chunks=(1,), dtype=bool, fill_value=False
        )
        group.attrs[_METADATA_KEY] = metadata
        return cls(path, metadata, group)

    def __init__(self, path, metadata, group):
        super().__init__(path, metadata)
        self.group = group

    @classmethod
    def open(cls, path):
        """Open the group written by :meth:`create`."""
        import zarr

        group = zarr.open_group(os.fspath(path), mode="r+")
        metadata = group.attrs.get(_METADATA_KEY)
        if metadata is None:
            raise ValueError(f"{path} is a zarr group, but not one skgalvae wrote.")
        return cls(path, dict(metadata), group)

    def done_chunks(self):
        """One flag per chunk."""
        return np.asarray(self.group["done"][:], dtype=bool)

    def write_chunk(self, chunk, ids, latents, latent_std, errors, columns):
        """Write the rows, then set the chunk's flag (the commit)."""
        start, stop = self.chunk_range(chunk)
        self.group["latent"][start:stop] = latents
        if latent_std is not None:
            self.group["latent_std"][start:stop] = latent_std
        self.group["id"][start:stop] = ids
        for name in self.row_columns:
            self.group[name][start:stop] = columns[name]
        self.group["error"][start:stop] = errors
        self.group["done"][chunk] = True

    def read_column(self, chunk, name):
        """Read the ids or error messages of one chunk."""
        start, stop = self.chunk_range(chunk)
        return as_objects(self.group[name][start:stop])


class ParquetLatentStore(LatentStore):
    """Latents in a directory of parquet files, one per committed chunk."""

    format = "parquet"
    _metadata_file = "_skgalvae.json"

    @classmethod
    def create(cls, path, metadata, id_dtype):
        """Create the directory with its metadata file."""
        os.makedirs(path, exist_ok=False)
        with open(os.path.join(path, cls._metadata_file), "w") as handle:
            json.dump(metadata, handle)
        return cls(path, metadata)

    @classmethod
    def open(cls, path):
        """Open a directory written by :meth:`create`."""
        try:
            with open(os.path.join(path, cls._metadata_file)) as handle:
                metadata = json.load(handle)
        except FileNotFoundError:
            raise ValueError(
                f"{path} exists but is not a latent table skgalvae wrote (no "
                f"{cls._metadata_file})."
            ) from None
        store = cls(path, metadata)
        store._remove_partial_writes()
        return store

    def _part(self, chunk):
        return os.path.join(self.path, f"part-{chunk:09d}.parquet")

    def _remove_partial_writes(self):
        # A run killed while writing leaves a temporary file; its chunk is redone.
        for name in os.listdir(self.path):
            if name.endswith(".tmp"):
                os.remove(os.path.join(self.path, name))

    def done_chunks(self):
        """One flag per chunk: its part file exists."""
        return np.asarray([os.path.exists(self._part(c)) for c in range(self.n_chunks)])

    def _columns(self):
        names = self.metadata["feature_names"]
        return names, [f"{name}_std" for name in names]

    def write_chunk(self, chunk, ids, latents, latent_std, errors, columns):
        """Write the part under a temporary name, then rename it (the commit)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        names, std_names = self._columns()
        table = {"id": pa.array(ids)}
        table.update({n: pa.array(latents[:, i]) for i, n in enumerate(names)})
        if latent_std is not None:
            for i, n in enumerate(std_names):
                table[n] = pa.array(latent_std[:, i])
        for name in self.row_columns:
            table[name] = pa.array(columns[name], type=pa.float64())
        table["error"] = pa.array(errors, type=pa.string())
        final = self._part(chunk)
        temporary = final + ".tmp"
        pq.write_table(pa.table(table), temporary)
        os.replace(temporary, final)

    def read_column(self, chunk, name):
        """Read the ids or error messages of one chunk."""
        import pyarrow.parquet as pq

        column = pq.read_table(self._part(chunk), columns=[name])[name]
        return as_objects(column.to_numpy(zero_copy_only=False))


_STORES = {store.format: store for store in (ZarrLatentStore, ParquetLatentStore)}


def store_class(output, format):
    """Return the store class for ``format``, or from ``output``'s suffix."""
    if format == "auto":
        suffix = os.fspath(output).rstrip("/").rsplit(".", 1)[-1].lower()
        if suffix not in _STORES:
            raise ValueError(
                f"Cannot tell the output format of {os.fspath(output)!r}: end it in "
                f".zarr or .parquet, or pass format='zarr' or 'parquet'."
            )
        format = suffix
    if format not in _STORES:
        raise ValueError(f"format must be 'auto', 'zarr' or 'parquet'; got {format!r}.")
    return _STORES[format]


def remove_store(path):
    """Delete a store directory (``overwrite=True``)."""
    shutil.rmtree(os.fspath(path))
