"""Getting arrays onto the compute device in batches, fast.

:class:`ArrayDataset` wraps a numpy array (in memory or memory-mapped) or a
torch tensor (on any device) of samples in their stored dtype.
:class:`DeviceBatchLoader` is a drop-in for ``torch.utils.data.DataLoader`` in a
skorch net (``iterator_train`` / ``iterator_valid``). It yields ``(x, None)``
batches that are already float32 on the device, scaled and in the requested
memory format:

- *staged*: the whole array is copied to the device once, in its stored dtype
  (uint8 stays uint8, a quarter of float32), and batches are gathered on the
  device with no host round trip; a tensor already on the device is used as is;
- *streamed*: batches are gathered on the host, pinned, and copied
  asynchronously, one batch ahead of the compute;
- *read*: lazy collections of files (:func:`skgalvae.io.is_lazy`, e.g.
  :class:`skgalvae.io.FITSDataset`) are read batch by batch by a
  ``torch.utils.data.DataLoader`` with the collection's ``num_workers``
  reader processes, so memory stays bounded by a few batches.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ..io._lazy import is_lazy
from .distributed import shard_bounds

# Fraction of free device memory the staged data may take; the rest is left for
# activations, gradients and optimizer state.
_STAGE_MEMORY_FRACTION = 0.5


class ArrayDataset(torch.utils.data.Dataset):
    """A numpy array of samples, read in its stored dtype.

    Parameters
    ----------
    array : ndarray or torch.Tensor of shape (n, ...)
        Samples; a ``np.memmap`` is never read as a whole unless staged.
    scale : float, default=1.0
        Batches are divided by this after conversion to float32.
    """

    def __init__(self, array, scale=1.0):
        self.array = array
        self.scale = float(scale)

    def __len__(self):
        return len(self.array)

    def __getitem__(self, index):
        item = self.array[index]
        if not torch.is_tensor(item):
            item = torch.as_tensor(np.asarray(item))
        return item.to(torch.float32) / self.scale, None


def take_rows(data, rows):
    """Rows ``rows`` (sorted) of ``data``: a view when they are contiguous.

    ``data`` is an array, a tensor or a lazy image collection (whose rows
    come back as a lazy collection).
    """
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        return data[int(rows[0]) : int(rows[-1]) + 1]
    if torch.is_tensor(data):
        return data[torch.as_tensor(rows, device=data.device)]
    return data[rows]


class FixedSplit:
    """skorch's ``train_split`` that always holds out the same validation set.

    Parameters
    ----------
    valid : torch.utils.data.Dataset
        The validation data; the training data is what the net is given.
    """

    def __init__(self, valid):
        self.valid = valid

    def __call__(self, dataset, y=None, **fit_params):
        """Return ``(dataset, valid)``."""
        return dataset, self.valid


class _BatchReader(torch.utils.data.Dataset):
    """Item ``j`` is batch ``j`` of a lazy collection, read as a tensor."""

    def __init__(self, array, batches):
        self.array = array
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, j):
        return torch.from_numpy(self.array.read(self.batches[j]))


def _host_tensor(array):
    """Return a CPU tensor sharing memory with ``array`` where possible.

    Non-native byte order (big-endian FITS data, as ``fits.getdata`` returns
    it) is converted, which torch cannot hold.
    """
    array = np.ascontiguousarray(array)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    with warnings.catch_warnings():
        # Read-only arrays (memmaps, joblib inputs) are never written through.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writ")
        return torch.from_numpy(array)


def _to_storage(tensor):
    # float64 is stored as float32 (the compute dtype), everything else as given.
    return tensor.to(torch.float32) if tensor.dtype == torch.float64 else tensor


def _nbytes_stored(array):
    """Bytes ``array`` takes once staged (float64 is stored as float32)."""
    if array.dtype in (np.float64, torch.float64):
        itemsize = 4
    elif torch.is_tensor(array):
        itemsize = array.element_size()
    else:
        itemsize = array.itemsize
    return int(np.prod(array.shape)) * itemsize


def bytes_to_stage(array, device):
    """Device bytes that staging ``array`` on ``device`` would allocate."""
    if torch.is_tensor(array) and array.device == torch.device(device):
        return 0
    return _nbytes_stored(array)


def should_stage(array, device, *, reserved_bytes=0) -> bool:
    """Decide whether ``array`` fits on ``device`` to be staged there whole.

    A tensor already on ``device`` is always used in place. On CPU an in-memory
    array is "staged" for free (no copy) and a memmap is streamed so it is
    never read whole. On CUDA the array is staged when it, plus
    ``reserved_bytes`` staged alongside it, takes at most half of the free
    device memory: what the driver reports free plus what PyTorch's caching
    allocator holds unused (a fit after another finds its memory cached, not
    returned to the driver).
    """
    device = torch.device(device)
    if is_lazy(array):
        return False
    if torch.is_tensor(array) and array.device.type == device.type:
        return True
    if device.type == "cpu":
        return not isinstance(array, np.memmap)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        free += torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        needed = _nbytes_stored(array) + reserved_bytes
        return needed <= _STAGE_MEMORY_FRACTION * free
    return False


class DeviceBatchLoader:
    """Iterate over an :class:`ArrayDataset` in device-ready batches.

    Parameters
    ----------
    dataset : ArrayDataset
        Samples and scale.
    batch_size : int, default=128
        Samples per batch; the last batch may be smaller.
    shuffle : bool, default=False
        Draw a new permutation each pass, from ``generator``.
    device : str or torch.device, default="cpu"
        Where batches are delivered.
    stage : bool or "auto", default="auto"
        Copy the whole array to ``device`` once (see :func:`should_stage`).
    channels_last : bool, default=False
        Deliver 4-D batches in ``torch.channels_last`` memory format.
    shard : tuple of (int, int) or None, default=None
        ``(rank, world_size)`` for data-parallel training: each batch of
        ``batch_size`` rows is split over the processes and this process gets
        its share, rows ``shard_bounds(len(batch), rank, world_size)`` of it
        (a last batch with fewer rows than processes joins the one before).
        While iterating, ``current_shard`` holds ``(low, high, batch_rows)``
        of the batch last yielded.
    generator : torch.Generator or None, default=None
        CPU generator of the permutations; None uses torch's global one.
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        device="cpu",
        stage="auto",
        channels_last=False,
        shard=None,
        generator=None,
    ):
        self.dataset = dataset
        self.shard = shard
        self.generator = generator
        self.current_shard = None
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.device = torch.device(device)
        self.channels_last = channels_last
        self.stage = (
            should_stage(dataset.array, self.device) if stage == "auto" else stage
        )
        self._staged = None

    def __len__(self):
        n, size = len(self.dataset), self.batch_size
        n_batches = -(-n // size)
        if self.shard is not None and n_batches > 1 and 0 < n % size < self.shard[1]:
            n_batches -= 1  # the short last batch joins the one before
        return n_batches

    def _to_compute(self, x):
        x = x.to(torch.float32)
        if self.dataset.scale != 1.0:
            x = x / self.dataset.scale
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _batch_indices(self):
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            yield order[start:stop] if order is not None else slice(start, stop)

    def _iter_staged(self, batches):
        if self._staged is None:
            array = self.dataset.array
            if not torch.is_tensor(array):
                array = _host_tensor(np.asarray(array))
            # Cast before the move: float64 never reaches the device.
            self._staged = _to_storage(array).to(self.device)
        for index in batches:
            if isinstance(index, torch.Tensor):
                index = index.to(self.device, non_blocking=True)
            yield self._to_compute(self._staged[index]), None

    def _host_batch(self, index):
        if torch.is_tensor(self.dataset.array):  # a tensor on another device
            batch = self.dataset.array[index].cpu()
            return batch.pin_memory() if self.device.type == "cuda" else batch
        if isinstance(index, torch.Tensor):
            # Read in sorted order (much faster on memmaps), then restore the
            # shuffled order so results don't depend on where the data lives.
            index = index.numpy()
            order = np.argsort(index, kind="stable")
            rows = np.empty_like(order)
            rows[order] = np.arange(len(order))
            batch = np.asarray(self.dataset.array[index[order]])[rows]
        else:
            batch = np.asarray(self.dataset.array[index])
        batch = _host_tensor(batch)
        if self.device.type == "cuda":
            batch = batch.pin_memory()
        return batch

    def _iter_streamed(self, batches):
        indices = list(batches)
        if not indices:
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._host_batch, indices[0])
            for next_index in indices[1:] + [None]:
                host = pending.result()
                if next_index is not None:
                    pending = pool.submit(self._host_batch, next_index)
                x = host.to(self.device, non_blocking=True)
                yield self._to_compute(x), None

    def _iter_read(self, batches):
        rows = [
            index.numpy()
            if isinstance(index, torch.Tensor)
            else np.arange(index.start, index.stop)
            for index in batches
        ]
        reader = torch.utils.data.DataLoader(
            _BatchReader(self.dataset.array, rows),
            batch_size=None,  # items are whole batches already
            num_workers=getattr(self.dataset.array, "num_workers", 0),
            pin_memory=self.device.type == "cuda",
            # Its own generator: DataLoader draws a worker seed on every pass,
            # which would otherwise shift the global RNG that the VAE samples
            # from, and make lazy and in-memory fits differ.
            generator=torch.Generator(),
        )
        for host in reader:
            yield self._to_compute(host.to(self.device, non_blocking=True)), None

    def iter_batches(self, batches):
        """Yield device-ready batches of the given rows.

        Parameters
        ----------
        batches : iterable of slice or torch.Tensor of int64
            Rows of each batch, in order.
        """
        if is_lazy(self.dataset.array):
            return self._iter_read(batches)
        if self.stage:
            return self._iter_staged(batches)
        return self._iter_streamed(batches)

    def __iter__(self):
        if self.shard is None:
            return self.iter_batches(self._batch_indices())
        return self._iter_shards()

    def _iter_shards(self):
        rank, world_size = self.shard
        batches = join_short_last_batch(list(self._batch_indices()), world_size)
        bounds = []
        for index in batches:
            n_rows = batch_length(index)
            bounds.append((*shard_bounds(n_rows, rank, world_size), n_rows))
        local = [
            sub_index(index, low, high)
            for index, (low, high, _) in zip(batches, bounds, strict=True)
        ]
        for bound, batch in zip(bounds, self.iter_batches(local), strict=True):
            self.current_shard = bound
            yield batch
        self.current_shard = None


def batch_length(index):
    """Rows in a batch index: a slice or a tensor of row numbers."""
    return len(index) if isinstance(index, torch.Tensor) else index.stop - index.start


def sub_index(index, low, high):
    """Rows ``low:high`` of a batch index (a slice or a tensor of rows)."""
    if isinstance(index, slice):
        return slice(index.start + low, index.start + high)
    return index[low:high]


def join_short_last_batch(batches, min_rows):
    """Join a last batch of fewer than ``min_rows`` rows to the one before.

    Two uses: MMD needs two samples per side, and data-parallel training one
    row per process.
    """
    if len(batches) > 1 and batch_length(batches[-1]) < min_rows:
        last, before = batches.pop(), batches.pop()
        if isinstance(last, slice):
            batches.append(slice(before.start, last.stop))
        else:
            batches.append(torch.cat([before, last]))
    return batches
