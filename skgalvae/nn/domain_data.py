"""Batches of several surveys at once, for domain adaptation.

:class:`DomainDataset` holds every survey's samples and
:class:`DomainBatchLoader` yields one device-ready batch of each per step,
built on :class:`~skgalvae.nn.data.DeviceBatchLoader`. The module and the
criterion receive survey ``d``'s batch under :func:`domain_key` ``(d)``;
:func:`domain_batches` lists them back in domain order.
"""

from __future__ import annotations

import torch

from .data import (
    DeviceBatchLoader,
    batch_length,
    bytes_to_stage,
    join_short_last_batch,
    should_stage,
    sub_index,
)
from .distributed import shard_bounds


class DomainDataset(torch.utils.data.Dataset):
    """Samples of two or more surveys, for domain adaptation.

    Its length and items are the first survey's (the source), so code that
    monitors the training data (e.g. :class:`~skgalvae.nn.ReconstructionSSIM`)
    sees that survey; :class:`DomainBatchLoader` draws the other surveys'
    batches.

    Parameters
    ----------
    source, target : ArrayDataset
        The first two surveys' samples, of one shape and scale.
    *more : ArrayDataset
        Further surveys' samples.
    """

    def __init__(self, source, target, *more):
        self.source = source
        self.target = target
        self.more = list(more)

    @property
    def domains(self):
        """Every survey's samples, in domain order."""
        return [self.source, self.target, *self.more]

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        return self.source[index]


def domain_key(index: int) -> str:
    """Batch key of survey ``index``: ``"x"``, then ``"x_1"``, ``"x_2"``, ...

    The key is the argument name under which the module and the criterion
    receive that survey's batch.
    """
    return "x" if index == 0 else f"x_{index}"


def domain_batches(x, more, n_domains: int) -> list:
    """Every survey's batch in domain order, from the module's arguments.

    ``x`` is survey 0's batch and ``more`` the others' keyed by
    :func:`domain_key` (``x_1``, ``x_2``, ...), as the module and the
    criterion receive them.
    """
    return [x] + [more[domain_key(d)] for d in range(1, n_domains)]


class DomainBatchLoader:
    """Iterate over every survey's samples together, for domain adaptation.

    Yields ``({"x": batch_0, "x_1": batch_1, "x_2": batch_2, ...},
    None)``, device-ready as from :class:`DeviceBatchLoader`, one batch per
    survey for each batch of the first survey. Paired samples (row ``i`` of
    every survey is the same galaxy) share one permutation. Unpaired surveys
    are drawn each in its own permutation, restarted when used up, so every
    epoch sees as many samples of each survey as of the first, whatever their
    sizes.

    Parameters
    ----------
    dataset : DomainDataset
        The surveys' samples.
    batch_size : int, default=128
        Samples per batch of each survey.
    shuffle : bool, default=False
        New permutations each pass, from ``generator``.
    paired : bool, default=False
        Whether row ``i`` of every survey is the same object.
    device : str or torch.device, default="cpu"
        Where batches are delivered.
    stage : bool or "auto", default="auto"
        Copy every array to ``device`` once; ``"auto"`` does so when all fit
        together (see :func:`should_stage`).
    channels_last : bool, default=False
        Deliver 4-D batches in ``torch.channels_last`` memory format.
    shard : tuple of (int, int) or None, default=None
        ``(rank, world_size)`` for data-parallel training: every process
        draws the same batches (the same generator state) and keeps its share
        of each survey's, rows ``shard_bounds(len(batch), rank, world_size)``,
        so paired rows stay together. ``current_shard`` holds ``(low, high,
        batch_rows)`` while iterating, as for :class:`DeviceBatchLoader`.
    generator : torch.Generator or None, default=None
        CPU generator of the permutations; None uses torch's global one.
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        paired=False,
        device="cpu",
        stage="auto",
        channels_last=False,
        shard=None,
        generator=None,
    ):
        domains = dataset.domains
        if paired and len({len(d) for d in domains}) > 1:
            raise ValueError(
                f"Paired domains need as many samples in every survey; got "
                f"{[len(d) for d in domains]}."
            )
        if stage == "auto":
            # Decided jointly: each array alone may fit where all do not.
            sizes = [bytes_to_stage(d.array, device) for d in domains]
            stage = all(
                should_stage(d.array, device, reserved_bytes=sum(sizes) - size)
                for d, size in zip(domains, sizes, strict=True)
            )
        loader_params = dict(
            device=device, stage=stage, channels_last=channels_last, generator=generator
        )
        self.loaders = [
            DeviceBatchLoader(d, batch_size, shuffle, **loader_params) for d in domains
        ]
        self.paired = paired
        self.shuffle = shuffle
        self.batch_size = int(batch_size)
        self.shard = shard
        self.current_shard = None

    @property
    def source(self):
        """The first survey's :class:`DeviceBatchLoader`."""
        return self.loaders[0]

    @property
    def target(self):
        """The second survey's :class:`DeviceBatchLoader`."""
        return self.loaders[1]

    @property
    def _min_rows(self):
        # MMD needs two samples per side, in every process.
        return 2 * (1 if self.shard is None else self.shard[1])

    def __len__(self):
        n, size = len(self.source.dataset), self.batch_size
        return max(1, n // size + (n % size >= self._min_rows))

    def _other_batches(self, loader, first_batches):
        if self.paired:
            return first_batches
        n = len(loader.dataset)
        generator = self.source.generator
        order = (
            torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        )
        batches, position = [], 0
        for index in first_batches:
            size = batch_length(index)
            rows = []
            while size > 0:
                if position == n:
                    if self.shuffle:
                        order = torch.randperm(n, generator=generator)
                    position = 0
                take = min(size, n - position)
                rows.append(order[position : position + take])
                position, size = position + take, size - take
            batches.append(torch.cat(rows))
        return batches

    def __iter__(self):
        for loader in self.loaders:
            loader.batch_size = self.batch_size
        first = join_short_last_batch(
            list(self.source._batch_indices()), self._min_rows
        )
        batches = [first] + [self._other_batches(lo, first) for lo in self.loaders[1:]]
        bounds = [None] * len(first)
        if self.shard is not None:
            rank, world_size = self.shard
            bounds = [
                (*shard_bounds(batch_length(i), rank, world_size), batch_length(i))
                for i in first
            ]
            batches = [
                [
                    sub_index(i, low, high)
                    for i, (low, high, _) in zip(b, bounds, strict=True)
                ]
                for b in batches
            ]
        streams = [
            lo.iter_batches(b) for lo, b in zip(self.loaders, batches, strict=True)
        ]
        for bound, *step in zip(bounds, *streams, strict=True):
            self.current_shard = bound
            yield {domain_key(d): x for d, (x, _) in enumerate(step)}, None
        self.current_shard = None
