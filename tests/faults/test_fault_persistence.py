"""Loading checks stored weights: finite, and of the configured network."""

import copy
import pickle

import joblib
import numpy as np
import pytest

from skgalvae import GMMVAETransformer


def _state(vae):
    return copy.deepcopy(vae.__getstate__())


def _load(estimator, state):
    return pickle.loads(pickle.dumps(_Restorer(type(estimator), state)))


class _Restorer:
    """Pickles as ``cls`` with ``state``: what a stored file would hold."""

    def __init__(self, cls, state):
        self.cls, self.state = cls, state

    def __reduce__(self):
        return (self.cls.__new__, (self.cls,), self.state)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_pickle_with_non_finite_weights_is_refused(fitted_vae, bad):
    state = _state(fitted_vae)
    name = next(iter(state["_net_state"]["tensors"]))
    state["_net_state"]["tensors"][name].flat[0] = bad
    with pytest.raises(ValueError, match=rf"1 non-finite value.*{name}.*diverged fit"):
        _load(fitted_vae, state)


def test_a_pickle_whose_config_contradicts_its_weights_is_refused(fitted_vae):
    state = _state(fitted_vae)
    state["n_latent"] = fitted_vae.n_latent + 3
    with pytest.raises(ValueError, match=r"do not match.*encoder.*\(4, .*\) vs \(7,"):
        _load(fitted_vae, state)


def test_a_pickle_missing_a_tensor_is_refused(fitted_vae):
    state = _state(fitted_vae)
    name = next(iter(state["_net_state"]["tensors"]))
    del state["_net_state"]["tensors"][name]
    with pytest.raises(ValueError, match=rf"missing {name}"):
        _load(fitted_vae, state)


def test_a_gmm_pickle_with_a_nan_prior_is_refused(images):
    gmm = GMMVAETransformer(
        n_latent=2, n_components=2, max_epochs=1, pretrain_epochs=1, random_state=0
    ).fit(images)
    state = _state(gmm)
    state["_net_state"]["tensors"]["prior_means"][0, 0] = np.nan
    with pytest.raises(ValueError, match="prior_means"):
        _load(gmm, state)


def test_a_truncated_model_file_fails_to_load(fitted_vae, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(fitted_vae, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(Exception):  # noqa: B017 - unpickling's own error
        joblib.load(path)


def test_a_sound_pickle_round_trips(fitted_vae, images):
    restored = _load(fitted_vae, _state(fitted_vae))
    np.testing.assert_array_equal(
        restored.transform(images), fitted_vae.transform(images)
    )


def test_skops_stores_models_fitted_on_quantities():
    import astropy.units as u
    import skops.io as sio
    from sklearn.pipeline import make_pipeline

    from skgalvae import VAETransformer
    from skgalvae.preprocessing import BandScaler

    X = np.random.default_rng(0).random((16, 1, 64, 64)) * u.nJy
    pipe = make_pipeline(
        BandScaler(),
        VAETransformer(n_latent=2, hidden_dims=(8,), max_epochs=1, batch_size=16),
    ).fit(X)
    data = sio.dumps(pipe)  # astropy units recursed without end
    restored = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert restored[0].input_unit_ == u.nJy
    np.testing.assert_allclose(restored.transform(X), pipe.transform(X), atol=1e-6)
    # Converted like the original: the same images in picojansky.
    np.testing.assert_allclose(
        restored.transform(X.to(u.pJy)), pipe.transform(X), atol=1e-5
    )
