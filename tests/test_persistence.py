"""Portable pickles: fit anywhere, load anywhere, no torch objects inside."""

import copy
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline

import skgalvae
from skgalvae import VAETransformer
from skgalvae.exceptions import InconsistentVersionWarning


class _NoTorchUnpickler(pickle.Unpickler):
    """Fails on any torch class: proves a pickle holds only numpy and config."""

    def find_class(self, module, name):
        if module.split(".")[0] == "torch":
            raise pickle.UnpicklingError(f"pickle references {module}.{name}")
        return super().find_class(module, name)


def _round_trip(obj):
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    buffer.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no weights_only or any other warning
        return joblib.load(buffer)


def test_joblib_round_trip_of_a_pipeline(blobs):
    pipe = make_pipeline(
        VAETransformer(n_latent=4, max_epochs=2, batch_size=32, random_state=0),
        RandomForestClassifier(n_estimators=10, random_state=0),
    ).fit(blobs.images, blobs.target)
    loaded = _round_trip(pipe)
    vae, loaded_vae = pipe[0], loaded[0]
    np.testing.assert_allclose(
        loaded_vae.transform(blobs.images), vae.transform(blobs.images), atol=1e-5
    )
    np.testing.assert_array_equal(
        loaded.predict(blobs.images), pipe.predict(blobs.images)
    )
    assert loaded_vae.history_[-1, "train_loss"] == vae.history_[-1, "train_loss"]


def test_state_holds_only_numpy_and_config(fitted_vae):
    state = fitted_vae.__getstate__()
    assert "net_" not in state
    tensors = state["_net_state"]["tensors"]
    assert all(
        isinstance(a, np.ndarray) and a.dtype == np.float32 for a in tensors.values()
    )
    # The pickled fitted estimator references no torch class at all apart from
    # skorch's history (plain lists and dicts).
    payload = pickle.dumps(fitted_vae)
    _NoTorchUnpickler(io.BytesIO(payload)).load()
    # Pickling does not disturb the estimator it was called on.
    assert hasattr(fitted_vae, "net_")


def _pretend_fitted_on_cuda(vae, device_param):
    fake = copy.deepcopy(vae)
    fake.device_ = "cuda:0"
    fake.device = device_param
    return fake


def test_cuda_fitted_auto_device_loads_on_cpu_silently(fitted_vae, images, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    fake = _pretend_fitted_on_cuda(fitted_vae, "auto")
    loaded = _round_trip(fake)
    assert loaded.device_ == "cpu"
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(
        loaded.transform(images), fitted_vae.transform(images), atol=1e-5
    )


def test_cuda_fitted_explicit_device_warns_and_falls_back(
    fitted_vae, images, monkeypatch
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    payload = pickle.dumps(_pretend_fitted_on_cuda(fitted_vae, "cuda"))
    with pytest.warns(UserWarning, match="fitted on 'cuda:0'.*runs on 'cpu'"):
        loaded = pickle.loads(payload)
    np.testing.assert_allclose(
        loaded.transform(images), fitted_vae.transform(images), atol=1e-5
    )


def test_other_version_warns(fitted_vae, monkeypatch):
    payload = pickle.dumps(fitted_vae)
    monkeypatch.setattr(skgalvae._version, "__version__", "99.0")
    with pytest.warns(
        InconsistentVersionWarning, match="skgalvae 0.1.0 with skgalvae 99.0"
    ):
        pickle.loads(payload)


def test_newer_state_format_fails_clearly(fitted_vae):
    state = fitted_vae.__getstate__()
    state["_net_state"] = {**state["_net_state"], "format": 999}
    clone = VAETransformer.__new__(VAETransformer)
    with pytest.raises(ValueError, match="state format 999.*reads formats up to 1"):
        clone.__setstate__(state)


def test_unfitted_round_trip():
    loaded = _round_trip(VAETransformer(n_latent=3))
    assert loaded.n_latent == 3 and not hasattr(loaded, "net_")
