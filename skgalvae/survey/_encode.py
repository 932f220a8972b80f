"""Encode a survey too large for memory, chunk by chunk, resumably."""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from numbers import Integral

import joblib
import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ..exceptions import UnreadableRowsWarning
from ..io._sources import open_source
from ..nn.net import core_module
from ..utils._progress import progress as progress_display
from ..utils._steps import split_vae
from ..vae._base import BaseVAE
from ._ids import resolve_ids
from ._lock import exclusive_writer
from ._resume import open_store
from ._stores import as_objects, plain, store_class

__all__ = ["EncodingSummary", "encode_survey"]


class LatentEncoder:
    """Images to latents (and optionally their standard deviations).

    Parameters
    ----------
    estimator : fitted transformer
        A skgalvae VAE, a Pipeline of preprocessing steps ending in one, or
        any fitted transformer (then without ``std``).
    std : bool
        Also return the posterior standard deviations (VAEs only).
    """

    def __init__(self, estimator, std=False):
        self.estimator = estimator
        self.preprocessing, final = split_vae(estimator)
        self.vae = final if isinstance(final, BaseVAE) else None
        check_is_fitted(final)
        if std and self.vae is None:
            raise TypeError(
                f"std=True needs a skgalvae VAE (or a Pipeline ending in one) to "
                f"give posterior standard deviations; got {type(final).__name__}."
            )
        self.std = std

    def feature_names(self) -> list[str]:
        """Names of the latent columns, e.g. ``vae0`` ... ``vae39``."""
        named = self.vae if self.vae is not None else self.estimator
        if not hasattr(named, "get_feature_names_out"):
            raise TypeError(
                f"{type(named).__name__} has no get_feature_names_out, which "
                f"names the output columns; pass a skgalvae VAE or a Pipeline "
                f"ending in one."
            )
        return [str(name) for name in named.get_feature_names_out()]

    def fingerprint(self) -> str:
        """Return a hash of the model: its weights, fitted scales and settings.

        Stored in the output's metadata, it tells on resume whether the same
        model wrote the rows already there. It does not depend on the device
        (a model fitted on a GPU and loaded on a CPU has the same one).
        """
        digest = hashlib.sha256()
        if self.vae is None:
            digest.update(joblib.hash(self.estimator).encode())
            return digest.hexdigest()
        state = core_module(self.vae.net_.module_).state_dict()
        for name, tensor in sorted(state.items()):
            array = tensor.detach().to("cpu", torch.float32).contiguous().numpy()
            digest.update(name.encode())
            digest.update(array.tobytes())
        settings = {
            name: getattr(self.vae, name)
            for name in (
                "n_latent", "sample_shape_", "pixel_scale_", "output_activation_",
                "architecture_", "hidden_dims_",
            )
        }  # fmt: skip
        settings["estimator"] = type(self.vae).__name__
        digest.update(repr(sorted(settings.items())).encode())
        if self.preprocessing is not None:
            digest.update(joblib.hash(self.preprocessing).encode())
        return digest.hexdigest()

    def __call__(self, images):
        """Return ``(latents, std or None)`` as float32 arrays."""
        if self.vae is None:
            return np.asarray(self.estimator.transform(images), dtype=np.float32), None
        X = (
            images
            if self.preprocessing is None
            else self.preprocessing.transform(images)
        )
        mu, logvar = self.vae._encode(X)
        return mu, (np.exp(0.5 * logvar, dtype=np.float32) if self.std else None)


@dataclass
class EncodingSummary:
    """What :func:`encode_survey` did.

    Attributes
    ----------
    output : str
        The store written.
    format : str
        ``"zarr"`` or ``"parquet"``.
    n_rows : int
        Rows in the survey (and the store).
    n_encoded : int
        Rows processed by this call.
    n_resumed : int
        Rows found done by an earlier, interrupted call and skipped.
    seconds : float
        Wall time of this call.
    failures : dict
        Id to reason of every row in the store that could not be read (this
        call's and earlier ones'); their latents are NaN.
    """

    output: str
    format: str
    n_rows: int
    n_encoded: int
    n_resumed: int
    seconds: float
    failures: dict = field(default_factory=dict)

    @property
    def n_failed(self) -> int:
        """Number of rows that could not be read."""
        return len(self.failures)

    @property
    def images_per_second(self) -> float:
        """Throughput of this call: rows processed per second of wall time."""
        return self.n_encoded / self.seconds if self.seconds > 0 else float("nan")

    def __str__(self):
        lines = [
            f"Encoded {self.n_encoded} of {self.n_rows} rows into {self.output} "
            f"({self.format}) in {self.seconds:.1f} s: "
            f"{self.images_per_second:.0f} images/s.",
        ]
        if self.n_resumed:
            lines.append(f"Resumed: {self.n_resumed} rows were already done.")
        if self.failures:
            shown = list(self.failures.items())[:10]
            lines.append(f"{self.n_failed} rows could not be read (NaN latents):")
            lines += [f"  {row_id}: {reason}" for row_id, reason in shown]
            if self.n_failed > len(shown):
                lines.append(f"  ... and {self.n_failed - len(shown)} more")
        else:
            lines.append("Every row was read.")
        return "\n".join(lines)


def _check_batch_size(batch_size):
    if batch_size is not None and (
        not isinstance(batch_size, Integral) or isinstance(batch_size, bool)
    ):
        raise TypeError(f"batch_size must be an int or None; got {batch_size!r}.")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")


def _encode_block(block, encoder, n_latent, std):
    """Latents, stds and per-row error strings of one block, NaN where failed."""
    n = block.stop - block.start
    latents = np.full((n, n_latent), np.nan, dtype=np.float32)
    latent_std = np.full((n, n_latent), np.nan, dtype=np.float32) if std else None
    ok = block.ok
    if ok.any():
        mu, sigma = encoder(block.images[ok] if not ok.all() else block.images)
        latents[ok] = mu
        if std:
            latent_std[ok] = sigma
    errors = np.full(n, "", dtype=object)
    for offset, reason in block.errors.items():
        errors[offset] = reason
    return latents, latent_std, errors


def encode_survey(
    estimator,
    source,
    output,
    *,
    key: str | None = None,
    ids=None,
    batch_size: int | None = None,
    std: bool = False,
    format: str = "auto",
    overwrite: bool = False,
    n_readers: int = 1,
    progress: bool = True,
) -> EncodingSummary:
    """Encode every image of a survey into a latent table on disk.

    The survey is read, encoded and written ``batch_size`` rows at a time,
    with the next chunks read while one is encoded, so memory stays bounded
    by a few chunks whatever the survey's size. Each written chunk is
    committed atomically: if the run stops (killed, out of time on a batch
    queue, a node lost), calling ``encode_survey`` again with the same
    arguments carries on from the first chunk not done, never writing a row
    twice or skipping one.

    Rows that cannot be read (a corrupt or missing file, NaN or inf pixels)
    are not dropped: they keep their place in the output with NaN latents and
    the reason in the ``error`` column, are listed by id in the summary, and
    raise an :class:`~skgalvae.exceptions.UnreadableRowsWarning`.

    Parameters
    ----------
    estimator : fitted transformer
        A fitted :class:`~skgalvae.VAETransformer` (or another skgalvae VAE),
        a fitted Pipeline of preprocessing steps ending in one (e.g.
        ``make_pipeline(MTFStretch(), VAETransformer())``), or any fitted
        transformer with ``get_feature_names_out`` (then without ``std``).
        It encodes on its own device: a GPU where it was fitted with
        ``device="auto"`` and one is present.
    source : array-like, path or list of paths
        The images, samples first, in the layout the estimator was fitted on:

        - the path of a zarr store (``"survey.zarr"``) or HDF5 file
          (``"survey.h5"``), with ``key`` naming the image array in it;
        - a zarr array, an ``h5py.Dataset``, a numpy array or memmap;
        - a dask array (each chunk is computed when read: on a
          ``dask.distributed`` cluster when a client is active);
        - a list of FITS or JPEG/PNG paths, a ``.txt`` file listing them one
          per line (relative to the list), or a
          :class:`skgalvae.io.FITSDataset` to set reading options.
    output : str or path-like
        Where to write: a ``.zarr`` group or a ``.parquet`` directory (one
        file per chunk; ``pandas.read_parquet`` reads it whole). Read either
        back with :func:`read_latents`.
    key : str, default=None
        The image array inside a zarr group or HDF5 file given by path.
    ids : array-like or str, default=None
        One id per row (ints or strings, e.g. catalogue ids), or the name of
        an array next to the images in the store. None means file paths for
        lists of files, else row numbers.
    batch_size : int, default=None
        Rows per chunk read, encoded and committed. None means 4096 for a
        new output, or the output's own when resuming. Memory is about
        ``(n_readers + 2) * batch_size`` images.
    std : bool, default=False
        Also write the posterior standard deviations (``latent_std``, or
        ``<name>_std`` columns).
    format : {"auto", "zarr", "parquet"}, default="auto"
        Output format; ``"auto"`` follows ``output``'s suffix.
    overwrite : bool, default=False
        Delete an existing ``output`` and start again. Without it an existing
        output is resumed, after checking it holds this survey's ids and was
        written by the same model (a fingerprint of its weights, scaling and
        settings, stored with the output).
    n_readers : int, default=1
        Threads reading chunks ahead of the encoder.
    progress : bool, default=True
        Show a progress bar over rows.

    Returns
    -------
    EncodingSummary
        Rows encoded and resumed, throughput, and failed rows by id;
        ``print`` it for a report.

    Raises
    ------
    OutputLockedError
        If another run is writing ``output``: one writer holds
        ``<output>.lock`` at a time, and a second fails at once, naming it.
    ValueError
        If ``ids`` repeat, or ``output`` holds another survey's or another
        model's rows (and ``overwrite=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import VAETransformer
    >>> from skgalvae.survey import encode_survey, read_latents
    >>> X = np.random.default_rng(0).random((40, 1, 64, 64), dtype=np.float32)
    >>> vae = VAETransformer(n_latent=4, hidden_dims=(8,), max_epochs=1).fit(X)
    >>> summary = encode_survey(vae, X, "latents.parquet", batch_size=16,
    ...                         progress=False)  # doctest: +SKIP
    >>> read_latents("latents.parquet").shape  # doctest: +SKIP
    (40, 6)
    """
    _check_batch_size(batch_size)
    if not isinstance(n_readers, Integral) or n_readers < 1:
        raise ValueError(f"n_readers must be a positive int; got {n_readers!r}.")
    encoder = LatentEncoder(estimator, std=std)
    output = os.fspath(output)
    store_class(output, format)  # a bad format fails before anything opens
    reader, container = open_source(source, key)
    try:
        ids = resolve_ids(ids, reader, container)
        with exclusive_writer(output):
            store = open_store(
                output, format, overwrite, reader, encoder, batch_size, ids
            )
            return _run(store, reader, encoder, ids, n_readers, progress)
    finally:
        reader.close()


def _run(store, reader, encoder, ids, n_readers, progress):
    start_time = time.perf_counter()
    done = store.done_chunks()
    pending = [int(c) for c in np.flatnonzero(~done)]
    n_resumed = sum(
        stop - start
        for start, stop in (store.chunk_range(int(c)) for c in np.flatnonzero(done))
    )
    failures = store.failures() if done.any() else {}
    n_latent = store.metadata["n_latent"]
    # A bar on a terminal, plain lines in a log file (skgalvae.utils._progress).
    bar = (
        progress_display(total=store.n_rows, desc="encode", unit="img")
        if progress
        else tqdm(total=store.n_rows, disable=True)
    )
    bar.update(n_resumed)
    n_encoded = 0
    with bar, ThreadPoolExecutor(max_workers=n_readers) as pool:
        futures = {}

        def submit(position):
            if position < len(pending):
                chunk = pending[position]
                futures[position] = pool.submit(reader.read, *store.chunk_range(chunk))

        for position in range(n_readers + 1):
            submit(position)
        for position, chunk in enumerate(pending):
            block = futures.pop(position).result()
            submit(position + n_readers + 1)
            latents, latent_std, errors = _encode_block(
                block, encoder, n_latent, encoder.std
            )
            chunk_ids = as_objects(ids[block.start : block.stop])
            store.write_chunk(
                chunk, chunk_ids, latents, latent_std, errors, block.columns
            )
            for offset, reason in block.errors.items():
                failures[plain(chunk_ids[offset])] = reason
            n_encoded += block.stop - block.start
            bar.update(block.stop - block.start)
            if failures:
                bar.set_postfix_str(f"failed={len(failures)}", refresh=False)
    summary = EncodingSummary(
        output=store.path,
        format=store.format,
        n_rows=store.n_rows,
        n_encoded=n_encoded,
        n_resumed=n_resumed,
        seconds=time.perf_counter() - start_time,
        failures=failures,
    )
    if failures:
        first = ", ".join(str(row_id) for row_id in list(failures)[:5])
        first += ", ..." if len(failures) > 5 else ""
        warnings.warn(
            f"{len(failures)} rows of {reader.name} could not be read and have NaN "
            f"latents in {store.path} (ids {first}); "
            f"summary.failures gives each reason.",
            UnreadableRowsWarning,
            stacklevel=3,
        )
    return summary
