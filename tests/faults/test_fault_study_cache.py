"""The study's cache keys come from the fields each stage declares it reads."""

import pytest

from skgalvae.study import (
    StudyConfig,
    _stage_adaptation,
    _stage_classification,
    _stage_data,
    _stage_latents,
    _stage_pictures,
)
from skgalvae.study._cache import _DeclaredConfig, stage_key
from skgalvae.study._config import STUDY_FIELDS

STAGES = [
    _stage_data._load, _stage_latents._search, _stage_latents._final,
    _stage_classification._encode, _stage_classification._probes,
    _stage_adaptation._adapt, _stage_pictures._pictures,
]  # fmt: skip


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.__name__)
def test_every_stage_declares_real_fields(stage):
    assert set(stage.reads) <= STUDY_FIELDS


def test_a_stage_reading_an_undeclared_field_fails_naming_it():
    view = _DeclaredConfig(StudyConfig(), ("seed",), "pictures")
    assert view.seed == 0
    with pytest.raises(AttributeError, match=r"'pictures' reads config.n_trees"):
        view.n_trees  # noqa: B018
    # Methods run on the view: batch_size_for reads batch_size.
    with pytest.raises(AttributeError, match=r"reads config.batch_size but"):
        view.batch_size_for(100)


def test_the_key_changes_with_each_declared_field_only():
    config = StudyConfig()
    reads = _stage_pictures._pictures.reads
    key = stage_key(config, reads)
    assert stage_key(StudyConfig(tsne_max=10), reads) != key
    assert stage_key(StudyConfig(n_trees=10), reads) == key


def test_a_changed_input_file_changes_the_load_key(tmp_path):
    listing = tmp_path / "files.txt"
    listing.write_text("a.fits\n")
    config = StudyConfig(data="fits", data_path=str(listing), catalog_path="x.csv")
    key = stage_key(config, _stage_data._load.reads)
    listing.write_text("a.fits\nb.fits\n")
    assert stage_key(config, _stage_data._load.reads) != key


def test_a_second_study_into_one_directory_fails_at_once(tmp_path, capsys):
    import time

    from skgalvae.cli import main
    from skgalvae.exceptions import OutputLockedError
    from skgalvae.study import StudyConfig, run_study
    from skgalvae.survey._lock import exclusive_writer

    out = tmp_path / "report"
    with exclusive_writer(str(out)):  # a run in progress
        start = time.perf_counter()
        with pytest.raises(OutputLockedError, match="would mix their results"):
            run_study(StudyConfig.quick(), out)
        with pytest.raises(SystemExit) as exit_info:
            main(["study", "--quick", "--out", str(out)])
        assert time.perf_counter() - start < 10  # refused before any stage
    assert exit_info.value.code == 2
    assert "is being written by process" in capsys.readouterr().err
    assert not (out / "cache").exists() and not (out / "results.json").exists()
