"""Data-parallel training across processes with ``torch.distributed`` (DDP).

When a fit runs in a process group of more than one process (launched with
``torchrun``, which sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``, and
``torch.distributed.init_process_group`` called), every skgalvae VAE trains
data-parallel: the module is wrapped in
:class:`~torch.nn.parallel.DistributedDataParallel`, and each process takes its
share of every batch of ``batch_size`` rows (the *global* batch), so the
optimisation is that of one process with the same ``batch_size``:

- every process holds the same data and draws the same shuffling permutation
  (the fit's seed is broadcast from rank 0);
- the reparameterisation noise is drawn for the whole global batch on every
  process, and each takes its own rows of it;
- each process's loss is weighted by its share of the batch before DDP
  averages the gradients, so uneven shares give the global batch mean.

On CUDA every process trains on its own GPU, ``cuda:LOCAL_RANK`` (modulo the
GPUs it sees), made its current device so that every collective uses it.

The helpers here find the process group, pick each process's device and shard
batches.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def data_parallel_rank() -> tuple[int, int] | None:
    """Return ``(rank, world_size)`` inside a process group of 2+, else None."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist.get_rank(), dist.get_world_size()
    return None


def local_cuda_index() -> int | None:
    """Return the GPU of this process under ``torchrun``: ``LOCAL_RANK`` mod GPUs.

    None when ``LOCAL_RANK`` is not set (or not a number) or torch sees no GPU.
    """
    local_rank = os.environ.get("LOCAL_RANK", "")
    if not local_rank.isdigit() or not torch.cuda.is_available():
        return None
    return int(local_rank) % torch.cuda.device_count()


def data_parallel_device(device: str) -> str:
    """Return this process's device for data-parallel training; make it current.

    A CUDA device without an index (``"cuda"``) becomes this process's own
    GPU (:func:`local_cuda_index`); an explicit ``"cuda:N"`` is kept. The GPU
    becomes torch's current device, which NCCL's collectives use. Any other
    device is returned as it is.

    Parameters
    ----------
    device : str
        The fit's resolved device.

    Returns
    -------
    str
    """
    parsed = torch.device(device)
    if parsed.type != "cuda":
        return device
    index = parsed.index
    if index is None:
        index = local_cuda_index() or 0
    torch.cuda.set_device(index)
    return f"cuda:{index}"


def collective_device() -> torch.device:
    """Return the device of the process group's collectives: the GPU for NCCL."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def broadcast_seed(seed: int) -> int:
    """Return rank 0's ``seed`` on every process (the seed itself alone)."""
    if data_parallel_rank() is None:
        return seed
    value = torch.tensor([seed], dtype=torch.int64, device=collective_device())
    dist.broadcast(value, src=0)
    return int(value.item())


def shard_bounds(n_rows: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rows ``[low, high)`` of a batch of ``n_rows`` that ``rank`` takes."""
    return rank * n_rows // world_size, (rank + 1) * n_rows // world_size


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over the process group in place (no-op alone)."""
    if data_parallel_rank() is not None:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def unwrap_ddp(module):
    """Return the module inside a ``DistributedDataParallel`` wrapper."""
    if isinstance(module, torch.nn.parallel.DistributedDataParallel):
        return module.module
    return module


def average_gradients(parameters) -> None:
    """Average the gradients of ``parameters`` over the process group, in place.

    For trained parameters outside the DDP-wrapped module (a learned noise
    scale lives in the criterion), which DDP does not all-reduce. No-op
    alone.
    """
    if data_parallel_rank() is None:
        return
    world_size = dist.get_world_size()
    for parameter in parameters:
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
            parameter.grad.div_(world_size)
