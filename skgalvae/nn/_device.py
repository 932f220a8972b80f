"""Choosing the device and the fast-path settings that depend on it."""

from __future__ import annotations

import warnings

import torch

from .distributed import local_cuda_index


def parse_device(device: str) -> torch.device:
    """Parse a device string other than ``"auto"``, naming it if it is none.

    Raises
    ------
    ValueError
        If torch does not read ``device`` as a device.
    """
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or "
            f"'cuda:N'."
        ) from exc


def resolve_device(device: str) -> str:
    """Turn the ``device`` parameter into a concrete torch device string.

    ``"auto"`` means CUDA when torch sees a GPU, else CPU. Under ``torchrun``
    (``LOCAL_RANK`` set) it is the process's own GPU, ``cuda:LOCAL_RANK``
    (modulo the GPUs it sees); a process that sees one GPU (a Dask worker
    given ``CUDA_VISIBLE_DEVICES``, a SLURM task with ``--gpus-per-task=1``)
    gets that one. Any other value is parsed by :class:`torch.device`.

    Raises
    ------
    ValueError
        If the string is not a device, or CUDA is requested but unavailable.
    """
    if device == "auto":
        if not torch.cuda.is_available():
            return "cpu"
        index = local_cuda_index()
        return "cuda" if index is None else f"cuda:{index}"
    parsed = parse_device(device)
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but torch sees no CUDA device "
            f"(torch.cuda.is_available() is False); use device='auto' or 'cpu'."
        )
    return str(parsed)


def device_after_unpickling(device_param: str, fitted_device: str) -> str:
    """Pick the device for an estimator that was just unpickled.

    ``device="auto"`` is resolved anew on this machine, so a model fitted on a
    GPU runs on the CPU of a machine without one, silently: that is what
    "auto" asks for. An explicit CUDA device that is missing here falls back to
    the CPU with a warning.
    """
    if device_param == "auto":
        return resolve_device("auto")
    if torch.device(fitted_device).type == "cuda" and not torch.cuda.is_available():
        warnings.warn(
            f"This estimator was fitted on {fitted_device!r} but torch sees no CUDA "
            f"device here; it runs on 'cpu' instead.",
            UserWarning,
            stacklevel=3,
        )
        return "cpu"
    return fitted_device


def resolve_precision(precision: str, device: str) -> str:
    """Return the autocast precision, ``"float32"`` or ``"bfloat16"``.

    ``"auto"`` is bfloat16 on a CUDA device that supports it, float32 elsewhere
    (bf16 autocast on CPU is legal but rarely faster).
    """
    if precision != "auto":
        return precision
    if torch.device(device).type == "cuda" and torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float32"


def resolve_channels_last(channels_last, device: str, is_image: bool) -> bool:
    """Return whether to use channels_last: ``"auto"`` means CUDA images."""
    if channels_last == "auto":
        return is_image and torch.device(device).type == "cuda"
    return bool(channels_last) and is_image
