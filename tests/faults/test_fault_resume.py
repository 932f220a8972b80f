"""Resumes check what they resume: a checkpoint belongs to one fit on one data set.

A checkpoint directory records the settings and a fingerprint of the training
data; another data set (other values, another dtype, another range), fewer
epochs than it holds, or damaged files are refused with the way out, never
resumed as if they were the same fit.
"""

import json

import numpy as np
import pytest

from skgalvae import VAETransformer
from skgalvae.vae._checkpoints import FINGERPRINT_FILE

PARAMS = dict(n_latent=2, hidden_dims=(8,), batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((32, 1, 64, 64), dtype=np.float32)


@pytest.fixture
def trained_dir(images, tmp_path):
    VAETransformer(**PARAMS, max_epochs=2, checkpoint_dir=tmp_path).fit(images)
    return tmp_path


def _refused(images, checkpoint_dir, match, **params):
    vae = VAETransformer(**{**PARAMS, "max_epochs": 2, **params})
    with pytest.raises(ValueError, match=match):
        vae.set_params(checkpoint_dir=checkpoint_dir).fit(images)


def test_same_fit_same_data_resumes_to_the_same_model(images, trained_dir):
    first = VAETransformer(**PARAMS, max_epochs=2).fit(images)
    resumed = VAETransformer(**PARAMS, max_epochs=2, checkpoint_dir=trained_dir)
    np.testing.assert_array_equal(
        resumed.fit(images).transform(images), first.transform(images)
    )


def test_other_values_of_the_same_shape_are_refused(images, trained_dir):
    other = np.random.default_rng(1).random(images.shape, dtype=np.float32)
    _refused(other, trained_dir, "differing: .*the data's values")


def test_one_changed_row_within_the_range_is_refused(images, trained_dir):
    changed = images.copy()
    changed[-1] = changed[-1][:, ::-1]  # the last row is among those hashed
    _refused(changed, trained_dir, "the data's values")


def test_uint8_data_after_float_data_is_refused(images, trained_dir):
    as_uint8 = (images * 255).astype(np.uint8)
    _refused(as_uint8, trained_dir, "the data's")


def test_a_rescaled_copy_is_refused(images, trained_dir):
    _refused(images * 0.5, trained_dir, "the data's value range")


def test_fewer_epochs_than_the_checkpoint_holds_are_refused(images, trained_dir):
    _refused(
        images,
        trained_dir,
        "holds 2 trained epochs, more than max_epochs=1",
        max_epochs=1,
    )


def test_more_epochs_continue_the_checkpoint(images, trained_dir):
    vae = VAETransformer(**PARAMS, max_epochs=3, checkpoint_dir=trained_dir)
    assert len(vae.fit(images).history_) == 3


def test_a_damaged_fingerprint_says_how_to_start_anew(images, trained_dir):
    (trained_dir / FINGERPRINT_FILE).write_text("")
    _refused(images, trained_dir, "damaged skgalvae_fit.json .*delete the directory")
    (trained_dir / FINGERPRINT_FILE).write_text("[1, 2]")
    _refused(images, trained_dir, "damaged")


def test_damaged_saved_weights_say_how_to_start_anew(images, trained_dir):
    (trained_dir / "params.pt").write_bytes(b"not a torch file")
    _refused(images, trained_dir, "could not be resumed: a saved file is damaged")


def test_a_damaged_history_says_how_to_start_anew(images, trained_dir):
    (trained_dir / "history.json").write_text("{")
    _refused(images, trained_dir, "could not be resumed")


def test_a_file_in_place_of_the_directory_is_refused(images, tmp_path):
    path = tmp_path / "checkpoints"
    path.write_text("a file")
    _refused(images, path, "exists and is not a directory")


def test_the_fingerprint_records_what_it_compares(images, trained_dir):
    record = json.loads((trained_dir / FINGERPRINT_FILE).read_text())
    assert record["n_samples"] == 32
    assert record["value_range"] == [float(images.min()), float(images.max())]
    assert len(record["data"]) == 32  # a 16-byte digest, in hex
