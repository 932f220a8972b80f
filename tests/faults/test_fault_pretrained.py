"""load_pretrained reads only what save_pretrained writes, and says what is wrong.

Every damaged or doctored directory is refused with a ValueError that names
the file and what is wrong in it, before any memory is allocated for the
network and without setting anything that is not the estimator's state.
"""

import json
import time

import numpy as np
import pytest

from skgalvae import VAETransformer, load_pretrained, save_pretrained


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X = np.random.default_rng(0).random((32, 1, 64, 64), dtype=np.float32)
    vae = VAETransformer(
        n_latent=2, hidden_dims=(8,), max_epochs=1, batch_size=16, random_state=0
    ).fit(X)
    directory = tmp_path_factory.mktemp("saved") / "model"
    save_pretrained(vae, directory)
    return directory


@pytest.fixture
def copy(saved, tmp_path):
    import shutil

    target = tmp_path / "model"
    shutil.copytree(saved, target)
    return target


def _config(directory):
    return json.loads((directory / "config.json").read_text())


def _write(directory, config):
    (directory / "config.json").write_text(json.dumps(config))


def test_the_saved_model_loads(saved):
    assert load_pretrained(saved).n_latent_ == 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "config.json is not valid JSON"),
        ("[1, 2]", "config.json holds a list, not an object"),
        ('{"library": "skgalvae", "format": 1}', "has no list of 'steps'"),
    ],
)
def test_a_damaged_config_is_named(copy, text, message):
    (copy / "config.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_pretrained(copy)


def test_a_step_without_its_class_is_named(copy):
    config = _config(copy)
    del config["steps"][0]["class"]
    _write(copy, config)
    with pytest.raises(ValueError, match="step 0 must be an object with a 'name'"):
        load_pretrained(copy)


def test_damaged_weights_name_the_file(copy):
    (copy / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"model\.safetensors is not a readable"):
        load_pretrained(copy)


def test_an_entry_that_is_not_state_is_refused(copy):
    config = _config(copy)
    config["steps"][0]["state"]["transform"] = "hijacked"
    _write(copy, config)
    with pytest.raises(
        ValueError, match=r"not VAETransformer's parameters .*'transform'"
    ):
        load_pretrained(copy)
    config["steps"][0]["state"].pop("transform")
    config["steps"][0]["state"]["_check_latents"] = "hijacked"
    _write(copy, config)
    with pytest.raises(ValueError, match="_check_latents"):
        load_pretrained(copy)


def test_a_huge_width_is_refused_before_allocating(copy):
    config = _config(copy)
    config["steps"][0]["state"]["n_latent"] = 10**9
    _write(copy, config)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="shape"):
        load_pretrained(copy)
    assert time.perf_counter() - start < 10  # no terabyte was allocated


def test_a_missing_array_is_named(copy):
    config = _config(copy)
    state = config["steps"][0]["state"]
    key = next(k for k, v in state.items() if isinstance(v, dict) and "__array__" in v)
    state[key] = {"__array__": "no/such/array"}
    _write(copy, config)
    with pytest.raises(ValueError, match="holds no array 'no/such/array'"):
        load_pretrained(copy)
