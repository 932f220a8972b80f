"""Training control of the VAE estimators: optimiser, schedule, stopping, monitors.

Each function reads the estimator's parameters and returns what the skorch
net takes, so every VAE estimator trains the same way.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Checkpoint, EarlyStopping, LRScheduler

from .nn import ArrayDataset, EpochProgressBar, KLWarmup, ReconstructionSSIM
from .nn.callbacks import LatentKL
from .nn.data import DomainDataset, FixedSplit, evenly_spaced_rows, take_rows

#: Optimisers by the name the ``optimizer`` parameter takes.
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}

#: Rows of the training data the active-latent count looks at, at most.
N_DIAGNOSTIC_ROWS = 4096

#: ``Var_x E[z_j | x]`` above which latent ``j`` counts as active
#: (Burda, Grosse & Salakhutdinov 2016).
ACTIVE_VARIANCE = 0.01


def optimizer_settings(estimator):
    """Return the net's ``optimizer`` and ``optimizer__*`` keyword arguments."""
    params = {
        f"optimizer__{key}": value
        for key, value in (estimator.optimizer_params or {}).items()
    }
    return {"optimizer": OPTIMIZERS[estimator.optimizer], **params}


def validation_split(dataset, fraction, rng, estimator_name):
    """Hold out a random ``fraction`` of ``dataset`` for validation.

    Parameters
    ----------
    dataset : ArrayDataset
        The training data.
    fraction : float
        Share of the rows to hold out, in (0, 1).
    rng : numpy.random.RandomState
        Picks the rows.
    estimator_name : str
        For error messages.

    Returns
    -------
    train : ArrayDataset
        The remaining rows.
    split : FixedSplit
        skorch's ``train_split``, giving the held-out rows.
    """
    n = len(dataset)
    n_valid = int(np.ceil(fraction * n))
    if n_valid < 1 or n - n_valid < 1:
        raise ValueError(
            f"early_stopping needs at least one training and one validation sample; "
            f"validation_fraction={fraction} of {n} samples leaves {n - n_valid} "
            f"for training and {n_valid} for validation ({estimator_name})."
        )
    order = rng.permutation(n)
    valid_rows = np.sort(order[:n_valid])
    train_rows = np.sort(order[n_valid:])
    train = ArrayDataset(take_rows(dataset.array, train_rows), dataset.scale)
    valid = ArrayDataset(take_rows(dataset.array, valid_rows), dataset.scale)
    return train, FixedSplit(valid)


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


def _silent(*args, **kwargs):
    """Print nothing (a sink for skorch's EarlyStopping message)."""


def fit_callbacks(estimator, data_range, *, shard=None, validation=False):
    """Return the callbacks of one fit of ``estimator``.

    Monitors (training SSIM, per-latent KL, and with ``validation`` the
    validation SSIM), the KL warm-up, the learning-rate schedule, early
    stopping, the progress display, and then the user's own callbacks, which
    are passed on as they are so that they receive the fit's events.

    Parameters
    ----------
    estimator : BaseVAE
        The estimator being fitted (its parameters and fitted attributes).
    data_range : float
        Dynamic range of the images as the network sees them.
    shard : tuple or None, default=None
        ``(rank, world_size)`` when training data-parallel.
    validation : bool, default=False
        Whether the net holds out validation data.

    Returns
    -------
    list of (str, skorch.callbacks.Callback)
    """
    callbacks = []
    if estimator.kl_warmup:
        callbacks.append(("kl_warmup", KLWarmup(estimator.kl_warmup)))
    if estimator._is_image:
        callbacks.append(("train_ssim", ReconstructionSSIM(data_range)))
        if validation:
            callbacks.append(
                (
                    "valid_ssim",
                    ReconstructionSSIM(data_range, name="valid_ssim", on="valid"),
                )
            )
    callbacks.append(("kl_per_latent", LatentKL()))
    if estimator.lr_schedule == "cosine":
        callbacks.append(
            (
                "lr_schedule",
                LRScheduler(
                    policy="CosineAnnealingLR",
                    T_max=estimator.max_epochs,
                    step_every="epoch",
                ),
            )
        )
    if validation:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_loss",
                    patience=estimator.n_iter_no_change,
                    # tol is per value: the loss is summed over the values.
                    threshold=estimator.tol * estimator.n_features_in_,
                    threshold_mode="abs",
                    load_best=True,
                    sink=print if estimator.verbose >= 2 else _silent,
                ),
            )
        )
    if estimator.checkpoint_dir is not None:
        checkpoint = Checkpoint(
            monitor=None,  # every epoch
            dirname=str(estimator.checkpoint_dir),
            **CHECKPOINT_FILES,
        )
        callbacks.append(("checkpoint", checkpoint))
    main_process = shard is None or shard[0] == 0
    if estimator.verbose == 1 and main_process:  # one bar per fit
        bar = EpochProgressBar(desc=type(estimator).__name__)
        callbacks.append(("progress", bar))
    return callbacks + list(estimator.callbacks or [])


@torch.inference_mode()
def active_latents(net, dataset, batch_size, max_rows=N_DIAGNOSTIC_ROWS):
    """Which latents the fitted ``net`` uses: ``Var_x E[z_j | x] > 0.01``.

    Parameters
    ----------
    net : VAENet
        A fitted net.
    dataset : ArrayDataset or DomainDataset
        Training data (the source survey's, for domain adaptation); at most
        ``max_rows`` rows, evenly spaced, are encoded.
    batch_size : int
        Rows per encoding batch.
    max_rows : int, default=4096
        Most rows to encode.

    Returns
    -------
    ndarray of bool, shape (n_latent,)
    """
    if isinstance(dataset, DomainDataset):
        dataset = dataset.source
    n = len(dataset)
    rows = evenly_spaced_rows(n, max_rows)
    subset = ArrayDataset(take_rows(dataset.array, rows), dataset.scale)
    means = torch.cat([mu.double() for mu, _ in net.encode_iter(subset, batch_size)])
    if len(means) < 2:
        return np.ones(means.shape[1], dtype=bool)
    return (means.var(dim=0) > ACTIVE_VARIANCE).cpu().numpy()
