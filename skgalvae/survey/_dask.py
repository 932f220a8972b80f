"""Encoding a dask array of images block by block (``map_blocks``)."""

from __future__ import annotations

import numpy as np

from ._encode import LatentEncoder

__all__ = ["encode_dask"]


def _encode_chunk(images, encoder):
    latents, latent_std = encoder(images)
    return latents if latent_std is None else np.concatenate([latents, latent_std], 1)


def encode_dask(estimator, images, *, std: bool = False):
    """Encode a dask array of images lazily, one block of rows per task.

    The estimator is put in the task graph once and shared by every task;
    on a ``dask.distributed`` cluster each worker unpickles it once and
    encodes its blocks on its own device. With ``device="auto"`` (the
    default) that is the GPU the worker sees (one per worker with
    ``CUDA_VISIBLE_DEVICES``, as dask-cuda and SLURM's ``--gpus-per-task``
    set it), or its CPU. Store the result with dask's own writers, e.g.
    ``encode_dask(vae, images).to_zarr("latents.zarr")``; for a resumable run
    with a report of unreadable rows use :func:`encode_survey`.

    Parameters
    ----------
    estimator : fitted transformer
        A fitted skgalvae VAE, a Pipeline ending in one, or any fitted
        transformer with ``get_feature_names_out`` (then without ``std``).
    images : dask.array.Array of shape (n, ...)
        Images, samples first, in the layout the estimator was fitted on.
        Blocks split only along the sample axis (other axes are rechunked to
        whole); a block's rows are encoded together, so keep blocks of a few
        thousand rows.
    std : bool, default=False
        Append the posterior standard deviations as ``n_latent`` more
        columns.

    Returns
    -------
    dask.array.Array of shape (n, n_latent) or (n, 2 * n_latent), float32
        Latent means (then standard deviations), chunked like ``images``
        along the samples.

    Raises
    ------
    TypeError
        If ``images`` is not a dask array.

    Examples
    --------
    >>> import dask.array as da
    >>> images = da.from_zarr("survey.zarr", component="images")  # doctest: +SKIP
    >>> encode_dask(vae, images).to_zarr("latents.zarr")  # doctest: +SKIP
    """
    import dask
    import dask.array as da

    if not isinstance(images, da.Array):
        raise TypeError(
            f"images must be a dask array; got {type(images).__name__}. Use "
            f"dask.array.from_array, from_zarr or from_delayed to make one, or "
            f"encode_survey for arrays and files."
        )
    if images.ndim < 2:
        raise ValueError(
            f"images must be samples first with at least 2 axes; got shape "
            f"{images.shape}."
        )
    encoder = LatentEncoder(estimator, std=std)
    n_columns = len(encoder.feature_names()) * (2 if std else 1)
    images = images.rechunk({axis: -1 for axis in range(1, images.ndim)})
    # One graph key for the model, instead of a copy inside every task.
    shared = dask.delayed(encoder, pure=True)
    return images.map_blocks(
        _encode_chunk,
        shared,
        dtype=np.float32,
        chunks=(images.chunks[0], (n_columns,)),
        drop_axis=list(range(2, images.ndim)),
        meta=np.empty((0, n_columns), dtype=np.float32),
    )
