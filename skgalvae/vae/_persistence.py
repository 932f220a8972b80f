"""Portable pickles: fitted torch state as numpy arrays plus config.

A fitted estimator's skorch net is never pickled. Its module is stored as a
dict of float32 numpy arrays (CPU, no CUDA tensors, no pickled torch classes),
so loading needs no GPU and no ``torch.load`` (hence no ``weights_only``
warnings), and the module is rebuilt from the estimator's own parameters.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .. import _version
from ..exceptions import InconsistentVersionWarning
from ..nn._device import device_after_unpickling
from ..nn.net import core_module

#: Version of the layout written by :func:`pack_module_state`. Bump it when the
#: layout changes; readers refuse layouts newer than they know.
STATE_FORMAT = 1


def pack_module_state(module: torch.nn.Module) -> dict:
    """Return ``module``'s state as portable numpy arrays."""
    module = getattr(module, "_orig_mod", module)  # unwrap torch.compile
    return {
        "format": STATE_FORMAT,
        "tensors": {
            name: tensor.detach().to("cpu", torch.float32).numpy().copy()
            if tensor.is_floating_point()
            else tensor.detach().cpu().numpy().copy()
            for name, tensor in module.state_dict().items()
        },
    }


def unpack_module_state(packed: dict, estimator_name: str) -> dict:
    """Return a torch state dict from :func:`pack_module_state`'s output.

    Raises
    ------
    ValueError
        If the pickle uses a state layout newer than this skgalvae knows.
    """
    fmt = packed.get("format")
    if fmt is None or fmt > STATE_FORMAT:
        raise ValueError(
            f"This {estimator_name} pickle stores its network in state format "
            f"{fmt}, but this skgalvae reads formats up to {STATE_FORMAT}. "
            f"Load it with the skgalvae version that wrote it, or newer."
        )
    return {
        name: torch.from_numpy(np.asarray(a)) for name, a in packed["tensors"].items()
    }


def warn_if_other_version(saved_version, current_version, estimator_name):
    """Warn with :class:`InconsistentVersionWarning` when the versions differ."""
    if saved_version != current_version:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=estimator_name,
                current_version=current_version,
                original_version=str(saved_version),
            ),
            stacklevel=3,
        )


def check_restored_state(state: dict, expected: dict, estimator_name: str) -> None:
    """Refuse stored weights that are not finite or do not fit the network.

    Parameters
    ----------
    state : dict of torch.Tensor
        The weights read from the pickle.
    expected : dict of torch.Tensor
        The state dict of the network its stored parameters build.
    estimator_name : str
        For the message.

    Raises
    ------
    ValueError
        Naming the first non-finite tensor, or the tensors missing, unexpected
        or of another shape than the configuration implies.
    """
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            n_bad = int((~torch.isfinite(tensor)).sum())
            raise ValueError(
                f"This {estimator_name} pickle holds {n_bad} non-finite value(s) "
                f"(NaN or inf) in its weights {name!r}: it was saved from a diverged "
                f"fit, or the file is damaged. Refit the model."
            )
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = [
        f"{name} {tuple(state[name].shape)} vs {tuple(tensor.shape)}"
        for name, tensor in expected.items()
        if name in state and state[name].shape != tensor.shape
    ]
    if missing or unexpected or reshaped:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing[:3])}")
        if unexpected:
            problems.append(f"unexpected {', '.join(unexpected[:3])}")
        if reshaped:
            problems.append(f"stored vs configured shape: {'; '.join(reshaped[:3])}")
        raise ValueError(
            f"This {estimator_name} pickle's weights do not match the network its "
            f"stored parameters build ({'; '.join(problems)}): its parameters or "
            f"weights were edited, or the file is damaged."
        )


class PicklingMixin:
    """Pickle the fitted net as plain tensors, and rebuild it on loading.

    Mixed into :class:`~skgalvae.vae._base.BaseVAE`.
    """

    # ----------------------------------------------------------------- pickling
    def __getstate__(self):
        # A copy: on Python >= 3.11 the parent returns the live __dict__.
        state = dict(super().__getstate__())
        net = state.pop("net_", None)
        if net is not None:
            state["_net_state"] = pack_module_state(net.module_)
        state["_skgalvae_version"] = _version.__version__
        return state

    def __setstate__(self, state):
        state = dict(state)
        packed = state.pop("_net_state", None)
        saved_version = state.pop("_skgalvae_version", "unknown")
        warn_if_other_version(saved_version, _version.__version__, type(self).__name__)
        super().__setstate__(state)
        if packed is not None:
            self.device_ = device_after_unpickling(self.device, self.device_)
            self.net_ = self._restore_net(packed)

    def _restore_net(self, packed):
        name = type(self).__name__
        state = unpack_module_state(packed, name)
        # Shapes first, on the meta device: a damaged configuration (say
        # n_latent=10**9) is refused before any memory is allocated.
        prefix = "module__"
        params = {k[len(prefix) :]: v for k, v in self._module_params().items()}
        with torch.device("meta"):
            expected = self._module_class(**params).state_dict()
        check_restored_state(state, expected, name)
        net = self._build_net(self.device_)
        net.initialize()  # seeded: its weights are overwritten below
        module = core_module(net.module_)
        module.load_state_dict(state)
        net.history = self.history_
        return net
