"""Random draws owned by one fit, so that fits in threads stay reproducible.

Torch's global generator is shared by every thread of a process: two fits
running side by side (GridSearchCV on joblib's threading backend, a Dask
worker with several threads) would interleave their draws and give
different results run to run. So a fit draws its shuffling, its
reparameterisation noise and its augmentation from generators of its own
(:func:`fit_generators`); only the construction of the network, whose layers
initialise themselves from the global generator, still uses it, under a lock
(:func:`seeded_torch`).
"""

from __future__ import annotations

import contextlib
import threading

import torch

__all__ = ["fit_generators", "seeded_torch"]

# Held while the global generator is seeded and drawn from. Re-entrant: a
# network may be built inside another seeded block.
_GLOBAL_RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded_torch(seed: int, device):
    """Seed torch's global RNGs for the block, then restore their old states.

    The block holds a process-wide lock, so that no other thread draws from
    (or reseeds) the global generators meanwhile; keep it short, e.g. the
    construction of a network.

    Parameters
    ----------
    seed : int
        Seed of the block's draws.
    device : str or torch.device
        The device whose generator is forked too, when it is a GPU.
    """
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def fit_generators(seed: int, device) -> tuple[torch.Generator, torch.Generator]:
    """Return a fit's own generators: ``(shuffle, draws)``.

    Parameters
    ----------
    seed : int
        Seed of the fit.
    device : str or torch.device
        Where the noise and augmentation are drawn.

    Returns
    -------
    shuffle : torch.Generator
        A CPU generator for the order of the training rows.
    draws : torch.Generator
        A generator on ``device`` for the reparameterisation noise and the
        augmentation.
    """
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    shuffle = torch.Generator().manual_seed(int(seed))
    draws = torch.Generator(device=device).manual_seed(int(seed) + 1)
    return shuffle, draws
