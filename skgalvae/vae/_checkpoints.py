"""Checkpoints of a fit: the directory's files, its fingerprint, resuming.

A fit with ``checkpoint_dir`` saves every epoch there (skorch's
``Checkpoint`` with :data:`CHECKPOINT_FILES`) and records what it belongs
to (:data:`FINGERPRINT_FILE`): the settings and a fingerprint of the
training data. A later fit with the same settings and data resumes from it;
anything else is refused with a message that names what differs.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import torch

from ..nn.data import take_rows
from ..utils._rows import evenly_spaced_rows

#: The files a checkpoint directory holds, as skorch's Checkpoint names them.
CHECKPOINT_FILES = {
    "f_params": "params.pt",
    "f_optimizer": "optimizer.pt",
    "f_criterion": "criterion.pt",
    "f_history": "history.json",
}
#: The settings and data shape a checkpoint belongs to.
FINGERPRINT_FILE = "skgalvae_fit.json"
# Parameters that may change between a killed fit and its resumption.
_RESUMABLE_CHANGES = {
    "callbacks",
    "checkpoint_dir",
    "verbose",
    "device",
    "max_epochs",
    "inference_batch_size",
}
#: Rows of the training data whose values a checkpoint's fingerprint hashes.
N_FINGERPRINT_ROWS = 64


def data_fingerprint(dataset):
    """Hash the training data: its dtype, shape and evenly spaced rows' values.

    Cheap at any size (at most :data:`N_FINGERPRINT_ROWS` rows per survey are
    read, files included); with the data's value range, which the
    checkpoint also records, it tells one data set from another.

    Parameters
    ----------
    dataset : ArrayDataset or DomainDataset

    Returns
    -------
    str
        Hexadecimal digest.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in getattr(dataset, "domains", [dataset]):
        data = part.array
        n = len(data)
        values = take_rows(data, evenly_spaced_rows(n, N_FINGERPRINT_ROWS))
        values = values.cpu().numpy() if torch.is_tensor(values) else np.asarray(values)
        digest.update(f"{values.dtype.str}{tuple(data.shape)}{part.scale}".encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def _fingerprint(estimator, dataset):
    params = estimator.get_params(deep=False)
    return {
        "estimator": type(estimator).__name__,
        "params": {
            k: repr(v) for k, v in sorted(params.items()) if k not in _RESUMABLE_CHANGES
        },
        "n_samples": len(dataset),
        "sample_shape": [int(s) for s in estimator.sample_shape_],
        "value_range": [float(v) for v in estimator.input_range_],
        "data": data_fingerprint(dataset),
    }


#: What the fingerprint's entries are called in messages.
_FINGERPRINT_NAMES = {
    "estimator": "the estimator",
    "n_samples": "the number of samples",
    "sample_shape": "the sample shape",
    "value_range": "the data's value range",
    "data": "the data's values",
}


def open_checkpoint(estimator, dataset):
    """Prepare ``estimator.checkpoint_dir``; return whether a fit can resume.

    The directory is created when missing, and records the settings and a
    fingerprint of the training data (size, shape, value range, a hash of
    evenly spaced rows) of the fit it belongs to; a directory of another fit,
    or of the same fit on other data, raises a ``ValueError`` that names what
    differs.

    Parameters
    ----------
    estimator : BaseVAE
        The estimator being fitted (after its fit attributes are set).
    dataset : ArrayDataset or DomainDataset
        The training data.

    Returns
    -------
    bool
        True when the directory holds saved epochs of this fit.
    """
    path = Path(estimator.checkpoint_dir)
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"checkpoint_dir={str(path)!r} exists and is not a directory; pass a "
            f"directory (it is created when missing)."
        )
    path.mkdir(parents=True, exist_ok=True)
    record = path / FINGERPRINT_FILE
    mine = _fingerprint(estimator, dataset)
    if not record.exists():
        record.write_text(json.dumps(mine, indent=1))
        return False
    try:
        theirs = json.loads(record.read_text())
        if not isinstance(theirs, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"checkpoint_dir={str(path)!r} holds a damaged {FINGERPRINT_FILE} "
            f"({exc}); delete the directory (or use another) to start anew."
        ) from None
    if theirs != mine:
        changed = sorted(
            key
            for key in set(mine["params"]) | set(theirs.get("params", {}))
            if mine["params"].get(key) != theirs.get("params", {}).get(key)
        )
        changed += [
            name
            for key, name in _FINGERPRINT_NAMES.items()
            if mine[key] != theirs.get(key)
        ]
        raise ValueError(
            f"checkpoint_dir={str(path)!r} holds a fit with other settings or data "
            f"(differing: {', '.join(changed)}); pass the same ones to resume it, "
            f"or use another directory (or delete this one) to start anew."
        )
    return all((path / name).exists() for name in CHECKPOINT_FILES.values())


def load_checkpoint(net, checkpoint_dir):
    """Load the saved weights, optimiser, likelihood and history into ``net``.

    A damaged file (cut short, overwritten, of another model) raises a
    ``ValueError`` that names the directory and the way out, instead of the
    reader's own error.
    """
    try:
        net.load_params(checkpoint=dict(net.callbacks_)["checkpoint"])
    except (
        RuntimeError,
        ValueError,
        KeyError,
        EOFError,
        OSError,
        pickle.UnpicklingError,
    ) as exc:
        raise ValueError(
            f"checkpoint_dir={str(checkpoint_dir)!r} could not be resumed: a saved "
            f"file is damaged or belongs to another model ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}); delete the directory (or use "
            f"another) to start anew."
        ) from exc


def check_resumed_epochs(estimator, n_epochs):
    """Refuse to resume a checkpoint that trained longer than ``max_epochs``.

    Parameters
    ----------
    estimator : BaseVAE
        The estimator being fitted.
    n_epochs : int
        Epochs the checkpoint holds.
    """
    if n_epochs > estimator.max_epochs:
        raise ValueError(
            f"checkpoint_dir={str(estimator.checkpoint_dir)!r} holds {n_epochs} "
            f"trained epochs, more than max_epochs={estimator.max_epochs}; pass "
            f"max_epochs >= {n_epochs} to resume (or continue) it, or use another "
            f"directory to train {estimator.max_epochs} epochs anew."
        )
