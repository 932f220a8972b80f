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

The helpers here find the process group and shard batches.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def data_parallel_rank() -> tuple[int, int] | None:
    """Return ``(rank, world_size)`` inside a process group of 2+, else None."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return dist.get_rank(), dist.get_world_size()
    return None


def broadcast_seed(seed: int) -> int:
    """Return rank 0's ``seed`` on every process (the seed itself alone)."""
    if data_parallel_rank() is None:
        return seed
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([seed], dtype=torch.int64, device=device)
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
