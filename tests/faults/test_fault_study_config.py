"""Study settings are checked in one place: from Python, flags and TOML alike."""

import pytest

from skgalvae.cli import main
from skgalvae.study import StudyConfig

BAD = [
    ("latents", (0, 5), "latents must be whole numbers >= 1"),
    ("latents", (2.5, 5), "latents must be whole numbers >= 1"),
    ("latents", (True, 5), "latents must be whole numbers >= 1"),
    ("epochs", 0, "epochs must be >= 1"),
    ("final_epochs", -1, "final_epochs must be >= 1"),
    ("da_epochs", 0, "da_epochs must be >= 1"),
    ("cv", 0, "cv must be >= 1"),
    ("batch_size", 0, "batch_size must be >= 1"),
    ("n_samples", 0, "n_samples must be >= 1"),
    ("n_pairs", 1, "n_pairs must be >= 2"),
    ("n_trees", 0, "n_trees must be >= 1"),
    ("min_question_samples", 0, "min_question_samples must be >= 1"),
    ("tsne_max", 1, "tsne_max must be >= 2"),
    ("seed", -1, "seed must be >= 0"),
    ("n_sigma", -8.0, "n_sigma must be a number > 0"),
    ("n_sigma", float("nan"), "n_sigma must be a number > 0"),
    ("mmd_weights", (0.0,), "mmd_weights must be numbers > 0"),
    ("fixed_mmd_weights", (-0.5,), "fixed_mmd_weights must be numbers > 0"),
    ("models", (3, "xu2023"), "models must be"),
]


@pytest.mark.parametrize("field, value, message", BAD, ids=lambda v: str(v))
def test_a_value_out_of_range_is_refused_naming_the_field(field, value, message):
    with pytest.raises((ValueError, TypeError), match=message):
        StudyConfig(**{field: value})


def test_no_adaptation_weight_at_all_is_refused():
    with pytest.raises(ValueError, match="both empty"):
        StudyConfig(mmd_weights=(), fixed_mmd_weights=())
    StudyConfig(mmd_weights=())  # the fixed weights alone adapt


def _error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_the_same_rule_from_a_flag(tmp_path, capsys):
    out = str(tmp_path / "r")
    err = _error(["study", "--epochs", "0", "--out", out], capsys)
    assert err.endswith("argument --epochs: must be >= 1; got 0")
    err = _error(["study", "--epochs", "ten", "--out", out], capsys)
    assert err.endswith("argument --epochs: expected a whole number >= 1; got 'ten'")


@pytest.mark.parametrize(
    "text, message",
    [
        ("n_sigma = -8", "n_sigma must be a number > 0"),
        ("latents = [0, 5]", "latents must be whole numbers >= 1"),
        ("cv = 0", "cv must be >= 1"),
        ('quick = "no"', "quick must be true or false"),
    ],
)
def test_the_same_rule_from_a_settings_file(tmp_path, capsys, text, message):
    config = tmp_path / "study.toml"
    config.write_text(text + "\n")
    out = tmp_path / "report"
    err = _error(["study", "--config", str(config), "--out", str(out)], capsys)
    assert message in err
    assert not (out / "cache").exists()  # refused before any stage
