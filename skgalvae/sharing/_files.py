"""Share fitted models safely: safetensors weights, JSON settings, a model card.

A pickle (joblib) runs code when it is loaded, so loading one from a
stranger is unsafe. :func:`save_pretrained` writes a directory that holds no
code at all:

- ``model.safetensors``: every array (the network's weights, fitted arrays
  such as a scaler's ranges) in the safetensors format, which is read as
  plain numbers;
- ``config.json``: each step's class name (one of skgalvae's own, looked up
  in a fixed table, never imported by name), its parameters and its fitted
  scalars;
- ``README.md``: a model card with the training data, ``n_latent``, the
  training scores and the versions, in the Hugging Face model-card layout.

:func:`load_pretrained` reads it back into the same estimator (or Pipeline of
skgalvae steps), on this machine's device.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from .. import _version
from ._card import model_card
from ._codec import _Decoder, _Encoder, _Unsaved

__all__ = ["load_pretrained", "save_pretrained", "sharing_types"]

#: Version of the directory layout; readers refuse newer ones.
PRETRAINED_FORMAT = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"


def _classes():
    """Return the only classes a pretrained directory may name."""
    from ..preprocessing import AsinhStretch, AstropyStretch, BandScaler, MTFStretch
    from ..vae._domain_adaptation import DomainAdaptedVAETransformer
    from ..vae._gmm_vae import GMMVAETransformer
    from ..vae._vae import VAETransformer

    classes = (
        VAETransformer, GMMVAETransformer, DomainAdaptedVAETransformer,
        MTFStretch, AsinhStretch, BandScaler, AstropyStretch,
    )  # fmt: skip
    return {cls.__name__: cls for cls in classes}


def _steps(estimator):
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return list(estimator.steps), True
    return [(type(estimator).__name__.lower(), estimator)], False


def _encode_step(name, step, classes):
    from sklearn.utils.validation import check_is_fitted

    if (
        type(step).__name__ not in classes
        or type(step) is not classes[type(step).__name__]
    ):
        raise TypeError(
            f"Step {name!r} is a {type(step).__name__}; save_pretrained saves "
            f"skgalvae's estimators and preprocessing steps only (no code is "
            f"stored). Share other steps with skops: skgalvae.sharing_types() "
            f"lists the types to trust."
        )
    check_is_fitted(step)
    encoder = _Encoder(prefix=name)
    state = step.__getstate__()
    params = set(step.get_params(deep=False))
    encoded, unsaved = {}, []
    defaults = type(step)().get_params(deep=False)
    for key, value in state.items():
        try:
            encoded[key] = encoder.encode(value, key)
        except _Unsaved as exc:
            if key not in params:
                raise TypeError(
                    f"save_pretrained cannot store {type(step).__name__}.{key}: "
                    f"{exc}; it has no JSON form."
                ) from None
            encoded[key] = encoder.encode(defaults[key], key)
            unsaved.append(f"{key}={value!r}")
    entry = {"name": name, "class": type(step).__name__, "state": encoded}
    if unsaved:
        entry["params_reset_to_default"] = unsaved
    return entry, encoder.arrays, unsaved


def save_pretrained(
    estimator, directory, *, training_data: str | None = None, overwrite: bool = False
) -> Path:
    """Save a fitted skgalvae model as safetensors, JSON and a model card.

    Loading the directory with :func:`load_pretrained` runs no stored code,
    so it is safe to share, unlike a pickle.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted skgalvae VAE (``VAETransformer``, ``GMMVAETransformer``,
        ``DomainAdaptedVAETransformer``), a fitted skgalvae preprocessing
        step, or a Pipeline of them. Pipelines with other steps: share them
        with skops (see the persistence guide).
    directory : str or path-like
        Created if needed; holds ``model.safetensors``, ``config.json`` and
        ``README.md``.
    training_data : str or None, default=None
        What the model was trained on (survey, bands, selection, size), for
        the model card: only you know it.
    overwrite : bool, default=False
        Replace the files of an earlier save in ``directory``.

    Returns
    -------
    pathlib.Path
        The directory.

    Raises
    ------
    TypeError
        If a step is not one of skgalvae's, or holds a fitted value with no
        JSON form.
    FileExistsError
        If ``directory`` holds a saved model and ``overwrite`` is False.

    Warns
    -----
    UserWarning
        For parameters that are objects (callbacks, an ``init`` model): they
        are saved as their defaults, and the message and model card name
        them; the fitted weights do not depend on them.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import VAETransformer, load_pretrained, save_pretrained
    >>> X = np.random.default_rng(0).random((32, 1, 16, 16), dtype=np.float32)
    >>> vae = VAETransformer(n_latent=2, hidden_dims=(8,), max_epochs=1).fit(X)
    >>> path = save_pretrained(vae, getfixture("tmp_path") / "my-vae")
    >>> sorted(p.name for p in path.iterdir())
    ['README.md', 'config.json', 'model.safetensors']
    >>> np.array_equal(load_pretrained(path).transform(X), vae.transform(X))
    True
    """
    from safetensors.numpy import save_file

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise FileExistsError(
            f"{directory} is a file; save_pretrained writes a directory "
            f"(config.json, weights, model card). Choose another path."
        )
    if (directory / CONFIG_FILE).exists() and not overwrite:
        raise FileExistsError(
            f"{directory} holds a saved model; pass overwrite=True to replace it."
        )
    classes = _classes()
    steps, is_pipeline = _steps(estimator)
    entries, arrays, unsaved = [], {}, []
    for name, step in steps:
        entry, step_arrays, step_unsaved = _encode_step(name, step, classes)
        entries.append(entry)
        arrays.update(step_arrays)
        unsaved += [f"{name}: {u}" for u in step_unsaved]
    if unsaved:
        warnings.warn(
            f"Saved as their defaults, having no JSON form: {'; '.join(unsaved)}.",
            UserWarning,
            stacklevel=2,
        )
    config = {
        "format": PRETRAINED_FORMAT,
        "library": "skgalvae",
        "skgalvae_version": _version.__version__,
        "pipeline": is_pipeline,
        "training_data": training_data,
        "steps": entries,
    }
    directory.mkdir(parents=True, exist_ok=True)
    save_file(arrays, directory / WEIGHTS_FILE, metadata={"format": "skgalvae"})
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=1))
    (directory / CARD_FILE).write_text(model_card(estimator, config))
    return directory


def load_pretrained(directory):
    """Load a model saved by :func:`save_pretrained`; no stored code runs.

    Parameters
    ----------
    directory : str or path-like
        The saved directory.

    Returns
    -------
    estimator or Pipeline
        As saved, fitted, on this machine's device (``device="auto"`` picks
        it anew; an explicit CUDA device falls back to the CPU with a
        warning where there is none).

    Raises
    ------
    FileNotFoundError
        If the directory lacks ``config.json`` or ``model.safetensors``.
    ValueError
        If the files are from a newer layout, name a class that is not
        skgalvae's, or hold weights that do not fit the network.
    """
    from safetensors.numpy import load_file
    from sklearn.pipeline import Pipeline

    directory = Path(directory)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(
                f"{directory} is not a saved skgalvae model: it has no {name}."
            )
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    try:
        config = json.loads(config_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{config_path} is not valid JSON: {exc}.") from None
    _check_layout(config, config_path)
    if (
        config.get("library") != "skgalvae"
        or config.get("format", 0) > PRETRAINED_FORMAT
    ):
        raise ValueError(
            f"{directory / CONFIG_FILE} is format {config.get('format')!r} of "
            f"{config.get('library')!r}; this skgalvae reads skgalvae formats up to "
            f"{PRETRAINED_FORMAT}."
        )
    try:
        arrays = load_file(weights_path)
    except Exception as exc:  # noqa: BLE001 - safetensors' errors name no file
        raise ValueError(
            f"{weights_path} is not a readable safetensors file: {exc}."
        ) from None
    decoder = _Decoder(arrays, weights_path)
    classes = _classes()
    steps = []
    for index, entry in enumerate(config["steps"]):
        cls = classes.get(entry["class"])
        if cls is None:
            raise ValueError(
                f"{config_path} names class {entry['class']!r}, which is "
                f"not one of skgalvae's ({', '.join(classes)})."
            )
        where = f"{config_path}, step {index} ({entry['name']!r})"
        state = decoder.decode(entry["state"])
        _check_state_keys(cls, state, where)
        step = cls.__new__(cls)
        try:
            step.__setstate__(state)
        except (TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ValueError(
                f"{where} holds a state {cls.__name__} cannot take "
                f"({type(exc).__name__}: {exc})."
            ) from None
        steps.append((entry["name"], step))
    if config["pipeline"]:
        return Pipeline(steps)
    return steps[0][1]


def _check_layout(config, path):
    """Refuse a config.json that is not laid out as save_pretrained writes it."""
    if not isinstance(config, dict):
        raise ValueError(f"{path} holds a {type(config).__name__}, not an object.")
    steps = config.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValueError(f"{path} has no list of 'steps'.")
    if not isinstance(config.get("pipeline"), bool):
        raise ValueError(f"{path}: 'pipeline' must be true or false.")
    for index, entry in enumerate(steps):
        kinds = {"name": str, "class": str, "state": dict}
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(key), kind) for key, kind in kinds.items()
        ):
            raise ValueError(
                f"{path}: step {index} must be an object with a 'name' and a "
                f"'class' (text) and a 'state' (an object)."
            )


#: The private entries a saved state may hold (the network's weights and
#: the versions that wrote it); any other name not a parameter nor a fitted
#: attribute (ending in "_") would set something that is not state.
_PRIVATE_STATE = {"_net_state", "_skgalvae_version", "_sklearn_version"}


def _check_state_keys(cls, state, where):
    """Refuse state entries that are neither parameters nor fitted attributes."""
    import inspect

    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(
        key
        for key in state
        if key not in params
        and key not in _PRIVATE_STATE
        and not (key.endswith("_") and not key.startswith("_"))
    )
    shadowing = sorted(
        key for key in state if key.endswith("_") and callable(getattr(cls, key, None))
    )
    if unknown or shadowing:
        raise ValueError(
            f"{where} holds entries that are not {cls.__name__}'s parameters or "
            f"fitted attributes: {(unknown + shadowing)[:5]}; the files were not "
            f"written by save_pretrained, or were changed."
        )


def sharing_types() -> list[str]:
    """Names of skgalvae's types, to trust when loading a skops file.

    skops loads only the types it is told to trust. A Pipeline mixing
    skgalvae and scikit-learn steps is shared with
    ``skops.io.dump(pipeline, "model.skops")`` and loaded with
    ``skops.io.load("model.skops", trusted=skgalvae.sharing_types())``
    (plus any other types ``skops.io.get_untrusted_types`` lists, after
    checking them).

    Returns
    -------
    list of str
        Fully qualified names of skgalvae's estimators and of the types
        their fitted state holds.
    """
    names = [f"{cls.__module__}.{cls.__name__}" for cls in _classes().values()]
    return sorted({*names, "skorch.history.History"})
