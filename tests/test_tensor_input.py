"""Torch tensors are accepted where arrays are, and stay on their device."""

import functools

import numpy as np
import pytest
import torch

from skgalvae.io._intake import scan_values
from skgalvae.nn import ArrayDataset, DeviceBatchLoader


@pytest.mark.slow
def test_tensor_input_gives_the_same_results_as_numpy(images, fitted_vae, small_vae):
    tensor = torch.from_numpy(images)
    np.testing.assert_array_equal(
        fitted_vae.transform(tensor), fitted_vae.transform(images)
    )
    np.testing.assert_array_equal(
        fitted_vae.reconstruct(tensor), fitted_vae.reconstruct(images)
    )
    assert fitted_vae.score(tensor) == fitted_vae.score(images)
    from_tensor = small_vae().fit(tensor)
    np.testing.assert_array_equal(
        from_tensor.transform(images), fitted_vae.transform(images)
    )


def test_uint8_tensor_is_scaled(images, small_vae):
    as_uint8 = (np.clip(images, 0, 1) * 255).round().astype(np.uint8)
    vae = small_vae(max_epochs=1).fit(torch.from_numpy(as_uint8))
    assert vae.pixel_scale_ == 255.0
    np.testing.assert_array_equal(
        vae.transform(torch.from_numpy(as_uint8)), vae.transform(as_uint8)
    )


def test_non_finite_tensor_values_are_reported(fitted_vae, images):
    tensor = torch.from_numpy(images[:5].copy())
    tensor[4, 0, 0, 0] = float("nan")
    tensor[2, 1, 3, 3] = float("inf")
    with pytest.raises(ValueError, match=r"1 NaN and 1 infinite \(inf\).*sample 2"):
        fitted_vae.transform(tensor)


def test_scan_values_agrees_for_numpy_and_torch():
    array = np.random.default_rng(0).normal(size=(50, 3, 8, 8)).astype(np.float32)
    assert scan_values(torch.from_numpy(array)) == scan_values(array)
    ints = np.arange(10, dtype=np.uint8).reshape(5, 2)
    assert scan_values(ints) == (0.0, 9.0)
    assert scan_values(ints, need_range=False) == (-np.inf, np.inf)


def test_tensor_on_the_device_is_used_in_place():
    tensor = torch.rand(12, 3, 8, 8)
    loader = DeviceBatchLoader(ArrayDataset(tensor), batch_size=5)
    batches = [x for x, _ in loader]
    assert loader.stage and loader._staged is tensor
    torch.testing.assert_close(torch.cat(batches), tensor)


@pytest.mark.slow
def test_compile_option_trains_and_pickles(images, small_vae, monkeypatch):
    # The eager backend exercises torch.compile's wrapping without a C++ build.
    monkeypatch.setattr(
        torch, "compile", functools.partial(torch.compile, backend="eager")
    )
    vae = small_vae(compile=True, max_epochs=1).fit(images)
    assert hasattr(vae.net_.module_, "_orig_mod")  # the compiled wrapper
    state = vae.__getstate__()["_net_state"]["tensors"]
    assert not any(name.startswith("_orig_mod") for name in state)
    reference = small_vae(max_epochs=1).fit(images)
    np.testing.assert_allclose(
        vae.transform(images), reference.transform(images), atol=1e-4
    )
    import pickle

    loaded = pickle.loads(pickle.dumps(vae))
    np.testing.assert_allclose(
        loaded.transform(images), vae.transform(images), atol=1e-6
    )
