"""Bad input at every public entry point gets an error that names it.

``benchmarks/probe_errors.py`` calls each public function and method with
each kind of bad input and judges where the error came from; the first test
runs it whole. The others pin the messages of the cases it found unclear.
"""

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from skgalvae import LatentOutlierDetector, VAETransformer, save_pretrained
from skgalvae.io import FITSDataset, ImageFileDataset, read_fits
from skgalvae.metrics import domain_auc, mmd2
from skgalvae.preprocessing import CenterCrop
from skgalvae.study import StudyConfig
from skgalvae.survey import read_latents, write_latents

PROBE = Path(__file__).resolve().parents[2] / "benchmarks" / "probe_errors.py"


def test_every_probe_gets_a_deliberate_error_or_a_right_result():
    spec = importlib.util.spec_from_file_location("probe_errors", PROBE)
    probe_errors = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = probe_errors  # its dataclass looks itself up there
    spec.loader.exec_module(probe_errors)
    probes = probe_errors.run()
    assert len(probes) > 380
    unclear = [
        f"{p.outcome}: {p.entry} <- {p.case}: {p.message} ({p.where})"
        for p in probes
        if p.outcome not in ("clear", "correct", "accepted")
    ]
    assert not unclear, "\n".join(unclear)
    accepted = [p for p in probes if p.outcome == "accepted"]
    assert all(p.accepted_because for p in accepted) and len(accepted) <= 3


@pytest.mark.parametrize(
    "X, match",
    [
        (None, "X is None; VAETransformer needs an array"),
        ("cutouts/J1234.fits", r"X is a single str \('cutouts/J1234.fits'\)"),
        ({"images": 1}, r"X is a dict with keys \['images'\].*X\['images'\]"),
        (
            [np.zeros((1, 16, 16)), np.zeros((1, 8, 16))],
            r"ragged list: item 1 has shape \(1, 8, 16\) but item 0 has \(1, 16, 16\)",
        ),
    ],
    ids=["none", "one-path", "dict", "ragged"],
)
def test_what_is_not_an_array_of_samples_is_named(X, match):
    with pytest.raises((TypeError, ValueError), match=match):
        VAETransformer(max_epochs=1).fit(X)


def test_latents_given_as_text_are_refused_not_parsed():
    Z = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(TypeError, match="X holds text"):
        LatentOutlierDetector().fit(Z.astype(str))
    with pytest.raises(TypeError, match="Z_source holds text"):
        mmd2(Z.astype(str), Z)
    with pytest.raises(ValueError, match="X is a ragged list"):
        LatentOutlierDetector().fit([[1.0, 2.0], [3.0]])
    # numbers held as objects are numbers, as in scikit-learn
    assert LatentOutlierDetector().fit(Z.astype(object)).center_.shape == (2,)


def test_domain_auc_needs_two_folds():
    Z = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="cv must be a whole number of folds >= 2"):
        domain_auc(Z, Z, cv=1)


def test_reading_latents_from_what_is_not_a_table_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; read_latents"):
        read_latents(tmp_path / "none.zarr")
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(ValueError, match="is a file, not a latent table"):
        read_latents(text)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a latent table skgalvae wrote"):
        read_latents(tmp_path / "empty")


def test_writing_an_array_as_a_latent_table_says_how_to_make_one(tmp_path):
    with pytest.raises(TypeError, match=r"got ndarray.*pd.DataFrame\(Z\)"):
        write_latents(np.zeros((3, 2)), tmp_path / "t.fits")
    assert not os.path.exists(tmp_path / "t.fits")


def test_saving_a_model_onto_a_file_is_refused(fitted_vae, tmp_path):
    target = tmp_path / "model"
    target.write_text("keep me")
    with pytest.raises(FileExistsError, match="is a file; save_pretrained writes"):
        save_pretrained(fitted_vae, target)
    assert target.read_text() == "keep me"


def test_fits_readers_name_their_bad_arguments(tmp_path):
    cube = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.zeros((3, 16, 16), np.float32)).writeto(cube)
    with pytest.raises(ValueError, match=r"bands=\('g', 'r'\) was given, but .*cube"):
        read_fits([cube], bands=["g", "r"])
    with pytest.raises(TypeError, match="takes a path or a sequence of paths"):
        FITSDataset(None)
    with pytest.raises(TypeError, match=r"paths\[1\] is not a path: 3 \(int\)"):
        ImageFileDataset([cube, 3])
    with pytest.raises(
        IndexError, match="index 2 is out of range for FITSDataset of 1"
    ):
        FITSDataset([cube])[2]
    assert FITSDataset([cube])[-1].shape == (3, 16, 16)
    with pytest.raises(ValueError, match="X is an empty FITSDataset"):
        VAETransformer(max_epochs=1).fit(FITSDataset([]))
    with pytest.raises(ValueError, match="FITSDataset holds no files"):
        read_fits([])


def test_a_crop_larger_than_the_images_is_refused_at_fit():
    X = np.zeros((2, 3, 16, 16), np.float32)
    with pytest.raises(ValueError, match="16x16 images, smaller than CenterCrop's"):
        CenterCrop(32).fit(X)
    assert CenterCrop(16).fit_transform(X).shape == (2, 3, 16, 16)


def test_a_study_device_is_checked_when_the_settings_are_made():
    with pytest.raises(ValueError, match="device='tpu' is not a torch device"):
        StudyConfig(device="tpu")
    assert StudyConfig(device="cpu").device == "cpu"


def test_a_latent_table_with_an_id_column_still_writes(tmp_path):
    table = pd.DataFrame({"id": [1, 2], "vae0": [0.5, 1.0], "error": ["", ""]})
    write_latents(table, tmp_path / "t.ecsv")
    assert read_latents(tmp_path / "t.ecsv").equals(table)
