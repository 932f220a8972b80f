"""Safe sharing: save_pretrained/load_pretrained (safetensors + JSON) and skops."""

import json
import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.visualization import LogStretch, PercentileInterval
from safetensors.numpy import load_file, save_file
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skgalvae import (
    DomainAdaptedVAETransformer,
    GMMVAETransformer,
    VAETransformer,
    load_pretrained,
    save_pretrained,
    sharing_types,
)
from skgalvae.preprocessing import AstropyStretch, BandScaler, MTFStretch

SMALL = dict(n_latent=3, hidden_dims=(8,), max_epochs=2, batch_size=8, random_state=0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((40, 3, 16, 16)).astype(np.float32)


@pytest.fixture(scope="module")
def vae(images):
    return VAETransformer(**SMALL).fit(images)


def _fitted_attributes(estimator):
    return {
        k: v
        for k, v in vars(estimator).items()
        if k.endswith("_") and not k.startswith("_") and k not in ("net_", "history_")
    }


def _assert_same_state(a, b):
    assert a.get_params() == b.get_params()
    fitted_a, fitted_b = _fitted_attributes(a), _fitted_attributes(b)
    assert fitted_a.keys() == fitted_b.keys()
    for key, value in fitted_a.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(fitted_b[key], value, err_msg=key)
        else:
            assert fitted_b[key] == value, key


def test_a_vae_round_trips_exactly_with_no_pickle(vae, images, tmp_path):
    path = vae.save_pretrained(tmp_path / "vae", training_data="40 noise images")
    assert sorted(p.name for p in path.iterdir()) == [
        "README.md", "config.json", "model.safetensors",
    ]  # fmt: skip
    back = VAETransformer.load_pretrained(path)
    assert type(back) is VAETransformer
    np.testing.assert_array_equal(back.transform(images), vae.transform(images))
    np.testing.assert_array_equal(
        back.inverse_transform(np.ones((2, 3), np.float32)),
        vae.inverse_transform(np.ones((2, 3), np.float32)),
    )
    _assert_same_state(vae, back)
    assert len(back.history_) == 2 and back.history_[-1, "epoch"] == 2
    config = json.loads((path / "config.json").read_text())
    assert config["steps"][0]["class"] == "VAETransformer"
    weights = load_file(path / "model.safetensors")
    module_keys = {
        k.split("/_net_state/tensors/")[1]
        for k in weights
        if "/_net_state/tensors/" in k
    }
    assert module_keys == set(vae.net_.module_.state_dict())
    card = (path / "README.md").read_text()
    for text in ("library_name: skgalvae", "| n_latent | 3 |", "40 noise images",
                 f"| torch | {torch.__version__} |", "load_pretrained"):  # fmt: skip
        assert text in card


def test_a_pipeline_of_skgalvae_steps_with_units(images, tmp_path):
    pipe = make_pipeline(
        AstropyStretch(LogStretch(), PercentileInterval(99.0)),
        BandScaler(scope="dataset"),
        VAETransformer(**SMALL),
    ).fit(images * u.nJy)
    back = load_pretrained(save_pretrained(pipe, tmp_path / "pipe"))
    assert [name for name, _ in back.steps] == [name for name, _ in pipe.steps]
    fluxes = (images * u.nJy).to(u.uJy)
    np.testing.assert_array_equal(back.transform(fluxes), pipe.transform(fluxes))
    assert back[0].input_unit_ == u.nJy
    assert isinstance(back[0].stretch, LogStretch) and back[0].stretch.a == 1000.0
    assert back[0].interval.upper_percentile == 99.5
    np.testing.assert_array_equal(back[1].low_, pipe[1].low_)
    assert "| Input unit | nJy |" in (tmp_path / "pipe" / "README.md").read_text()


def test_gmm_and_domain_adapted_models(images, vae, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 2-epoch mixture may collapse
        gmm = GMMVAETransformer(**SMALL, n_components=3).fit(images)
    gmm_back = load_pretrained(save_pretrained(gmm, tmp_path / "gmm"))
    np.testing.assert_array_equal(gmm_back.predict(images), gmm.predict(images))
    np.testing.assert_array_equal(gmm_back.means_, gmm.means_)
    da = DomainAdaptedVAETransformer(**SMALL, init=vae).fit(
        images, X_target=images[::-1].copy()
    )
    with pytest.warns(
        UserWarning, match="Saved as their defaults.*init=VAETransformer"
    ):
        path = save_pretrained(da, tmp_path / "da")
    assert "init=VAETransformer" in (path / "README.md").read_text()
    da_back = DomainAdaptedVAETransformer.load_pretrained(path)
    assert da_back.init is None
    for domain in ("source", "target"):
        np.testing.assert_array_equal(
            da_back.reconstruct(images[:4], domain=domain),
            da.reconstruct(images[:4], domain=domain),
        )


def _edit_config(path, edit):
    config = json.loads((path / "config.json").read_text())
    edit(config["steps"][0]["state"])
    (path / "config.json").write_text(json.dumps(config))


def test_a_model_saved_on_a_gpu_loads_on_this_cpu(vae, images, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    expected = vae.transform(images)
    auto = save_pretrained(vae, tmp_path / "auto")
    _edit_config(auto, lambda state: state.update(device="auto", device_="cuda:0"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "auto" picks this machine's device silently
        back = load_pretrained(auto)
    assert back.device_ == "cpu"
    np.testing.assert_array_equal(back.transform(images), expected)
    explicit = save_pretrained(vae, tmp_path / "explicit")
    _edit_config(explicit, lambda state: state.update(device="cuda", device_="cuda:0"))
    with pytest.warns(UserWarning, match="fitted on 'cuda:0'.*runs on 'cpu'"):
        back = load_pretrained(explicit)
    np.testing.assert_array_equal(back.transform(images), expected)


def test_loading_refuses_what_it_cannot_trust(vae, tmp_path):
    path = save_pretrained(vae, tmp_path / "vae")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        save_pretrained(vae, path)
    save_pretrained(vae, path, overwrite=True)
    config = json.loads((path / "config.json").read_text())
    config["steps"][0]["class"] = "posix.system"
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "config.json").write_text(json.dumps(config))
    (tmp_path / "evil" / "model.safetensors").write_bytes(
        (path / "model.safetensors").read_bytes()
    )
    with pytest.raises(ValueError, match="names class 'posix.system', which is not"):
        load_pretrained(tmp_path / "evil")
    config["format"] = 99
    (tmp_path / "evil" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="format 99.*reads skgalvae formats up to 1"):
        load_pretrained(tmp_path / "evil")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        load_pretrained(tmp_path)
    weights = load_file(path / "model.safetensors")
    name = next(k for k in weights if "/_net_state/tensors/" in k)
    weights[name] = np.full_like(weights[name], np.nan)
    save_file(weights, path / "model.safetensors")
    with pytest.raises(ValueError, match="non-finite value"):
        load_pretrained(path)
    with pytest.raises(TypeError, match="holds a VAETransformer, not a GMMVAE"):
        save_pretrained(vae, tmp_path / "v2")
        GMMVAETransformer.load_pretrained(tmp_path / "v2")


def test_what_cannot_be_saved_is_named(vae, images, tmp_path):
    with pytest.raises(NotFittedError):
        save_pretrained(VAETransformer(), tmp_path / "unfitted")
    pipe = make_pipeline(vae, LogisticRegression()).fit(images, np.arange(40) % 2)
    with pytest.raises(
        TypeError, match="'logisticregression' is a LogisticRegression.*skops"
    ):
        save_pretrained(pipe, tmp_path / "mixed")


def test_a_mixed_pipeline_is_shared_through_skops(images, tmp_path):
    sio = pytest.importorskip("skops.io")
    y = np.arange(len(images)) % 2
    pipe = make_pipeline(MTFStretch(), VAETransformer(**SMALL), LogisticRegression())
    pipe.fit(images, y)
    sio.dump(pipe, tmp_path / "model.skops")
    untrusted = set(sio.get_untrusted_types(file=tmp_path / "model.skops"))
    assert untrusted and untrusted <= set(sharing_types())
    with pytest.raises(Exception, match="Untrusted types"):
        sio.load(tmp_path / "model.skops")
    back = sio.load(tmp_path / "model.skops", trusted=sharing_types())
    np.testing.assert_array_equal(
        back.predict_proba(images), pipe.predict_proba(images)
    )


def test_a_logged_object_in_the_history_is_kept_as_text(images, tmp_path):
    vae = VAETransformer(**SMALL).fit(images)
    vae.history_.record("note", object())
    back = load_pretrained(save_pretrained(vae, tmp_path / "noted"))
    assert back.history_[-1, "note"].startswith("<object object at")
    assert back.history_[-1, "train_loss"] == vae.history_[-1, "train_loss"]
