"""The latent table :func:`encode_survey` writes: created, or resumed once checked.

A new table records what identifies the model (its weights, scaling and
settings) and the source (every id and the pixels of a few rows); resuming
refuses a table that another model, source, survey size or chunking wrote,
so one table never mixes two runs' latents.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from .._version import __version__
from ..utils._rows import evenly_spaced_rows
from ._stores import as_objects, remove_store, store_class

#: Rows per chunk of a new table when ``batch_size`` is None.
DEFAULT_CHUNK_ROWS = 4096
#: What a table records that resuming checks.
_RESUME_KEYS = (
    "n_rows",
    "chunk_rows",
    "feature_names",
    "std",
    "model_fingerprint",
    "source_fingerprint",
)

#: Rows of the source whose pixels the source's fingerprint hashes.
_FINGERPRINT_ROWS = 8


def _ids_digest(ids):
    """Hash every id, its type included (1 and "1" differ)."""
    digest = hashlib.blake2b(digest_size=16)
    for value in as_objects(ids):
        digest.update(f"{type(value).__name__}:{value!r}\x00".encode())
    return digest.hexdigest()


def _rows_digest(reader):
    """Hash the pixels of a few rows spread over the source (or why they failed)."""
    digest = hashlib.blake2b(digest_size=16)
    n = reader.n_rows
    for row in evenly_spaced_rows(n, _FINGERPRINT_ROWS):
        try:
            block = reader.read(int(row), int(row) + 1)
        except OSError as exc:  # an unreadable row: what is wrong identifies it
            digest.update(str(exc).encode())
            continue
        if block.errors:
            digest.update(block.errors[0].encode())
        else:
            images = np.ascontiguousarray(block.images)
            digest.update(f"{images.dtype.str}{images.shape}".encode())
            digest.update(images.tobytes())
    return digest.hexdigest()


def _source_fingerprint(reader, ids):
    """Return what identifies the rows encoded: every id, and sampled pixels."""
    return {"ids": _ids_digest(ids), "rows": _rows_digest(reader)}


def _new_metadata(reader, encoder, chunk_rows, ids):
    names = encoder.feature_names()
    return {
        "n_rows": reader.n_rows,
        "chunk_rows": int(chunk_rows),
        "n_latent": len(names),
        "feature_names": names,
        "std": bool(encoder.std),
        "estimator": repr(encoder.estimator),
        "model_fingerprint": encoder.fingerprint(),
        "source_fingerprint": _source_fingerprint(reader, ids),
        "source": reader.name,
        "row_columns": list(reader.column_names),
        "id_kind": "str" if np.asarray(ids[:1]).dtype.kind in "OUST" else "int",
        "skgalvae_version": __version__,
    }


def _check_resumable(store, reader, encoder, batch_size, ids):
    """Refuse to resume into a store that another survey or model wrote."""
    meta = store.metadata
    path = store.path
    if meta["n_rows"] != reader.n_rows:
        raise ValueError(
            f"{path} holds {meta['n_rows']} rows but {reader.name} has "
            f"{reader.n_rows}; it was written for another survey. Pass "
            f"overwrite=True to start again."
        )
    if batch_size is not None and batch_size != meta["chunk_rows"]:
        raise ValueError(
            f"{path} was started with batch_size={meta['chunk_rows']}; resume "
            f"with that batch_size (or None), or pass overwrite=True."
        )
    names = encoder.feature_names()
    if names != meta["feature_names"] or bool(encoder.std) != meta["std"]:
        raise ValueError(
            f"{path} holds features {meta['feature_names'][:3]}... (std="
            f"{meta['std']}) but this estimator gives {names[:3]}... (std="
            f"{encoder.std}); pass overwrite=True to start again."
        )
    stored = meta["model_fingerprint"]
    mine = encoder.fingerprint()
    if stored != mine:
        raise ValueError(
            f"{path} was written by another model (its weights, scaling or "
            f"settings differ from this estimator's: model fingerprint "
            f"{stored[:12]}... vs {mine[:12]}...); resuming "
            f"would mix two models' latents in one table. Pass overwrite=True to "
            f"start again, or write to another output."
        )
    _check_source(store, reader, ids)


def _check_source(store, reader, ids):
    """Refuse unless the source's ids and sampled pixels are those recorded."""
    stored = store.metadata["source_fingerprint"]
    mine = _source_fingerprint(reader, ids)
    differ = [
        {"ids": "its ids", "rows": "its images"}[key]
        for key in ("ids", "rows")
        if stored.get(key) != mine[key]
    ]
    if differ:
        raise ValueError(
            f"{store.path} was written for another source: {' and '.join(differ)} "
            f"differ from those of {reader.name}; resuming would mix two sources' "
            f"rows in one table. Pass overwrite=True to start again, or write to "
            f"another output."
        )


def open_store(output, format, overwrite, reader, encoder, batch_size, ids):
    """Open the store to resume, after checking it; or create it. Return the store."""
    store_cls = store_class(output, format)
    if os.path.exists(output) and not os.path.isdir(output):
        raise ValueError(
            f"{output} exists and is not a directory; a {store_cls.format} latent "
            f"table is one. Remove it or write to another output (overwrite=True "
            f"replaces only tables skgalvae wrote)."
        )
    if os.path.exists(output) and overwrite:
        remove_store(output)
    if os.path.exists(output):
        try:
            store = store_cls.open(output)
            missing = [key for key in _RESUME_KEYS if key not in store.metadata]
            if missing:
                raise ValueError(f"its metadata lacks {', '.join(missing)}")
        except Exception as exc:  # noqa: BLE001 - any damage: one way out
            raise ValueError(
                f"{output} exists but cannot be resumed: it is not a complete "
                f"{store_cls.format} table skgalvae wrote ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}). "
                f"Pass overwrite=True to start again, or write to another output."
            ) from exc
        _check_resumable(store, reader, encoder, batch_size, ids)
        return store
    chunk_rows = batch_size or min(DEFAULT_CHUNK_ROWS, reader.n_rows)
    metadata = _new_metadata(reader, encoder, chunk_rows, ids)
    try:
        return store_cls.create(output, metadata, np.asarray(ids[:1]).dtype)
    except BaseException:
        # A store cut short while being created (a full disk, an interrupt)
        # would not open again: leave nothing rather than half a store.
        if os.path.exists(output):
            remove_store(output)
        raise
