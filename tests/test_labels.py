"""GZD-5 labels from vote fractions: thresholds, parent branches, edge cases."""

import numpy as np
import pandas as pd
import pytest
from astropy.table import MaskedColumn, Table

from skgalvae.labels import GZD5_QUESTIONS, gzd5_labels

FEATURED = "smooth-or-featured_featured-or-disk_fraction"
SMOOTH = "smooth-or-featured_smooth_fraction"
EDGE_YES = "disk-edge-on_yes_fraction"
EDGE_NO = "disk-edge-on_no_fraction"
ARMS_YES = "has-spiral-arms_yes_fraction"


def _row(question, answer_fractions, **parents):
    """One catalogue row: the question's answers, parents passing by default."""
    q = GZD5_QUESTIONS[question]
    row = {c.column: 1.0 for c in q.parent}
    row.update(parents)
    row.update({a.column: 0.0 for a in q.answers})
    for label, value in answer_fractions.items():
        (answer,) = [a for a in q.answers if a.label == label]
        row[answer.column] = value
    return row


def _label(question, answer_fractions, **parents):
    catalog = pd.DataFrame([_row(question, answer_fractions, **parents)])
    return gzd5_labels(catalog, question).iloc[0]


def test_table2_structure():
    assert list(GZD5_QUESTIONS) == [
        "how_rounded", "edge_on", "bulge_shape", "bar", "has_arms",
        "arm_tightness", "arm_count", "bulge_size", "merger",
    ]  # fmt: skip
    assert [len(q.answers) for q in GZD5_QUESTIONS.values()] == [
        3,
        2,
        3,
        3,
        2,
        3,
        4,
        4,
        2,
    ]
    assert GZD5_QUESTIONS["bar"].answers[2].column == "bar_strong_fraction"
    assert GZD5_QUESTIONS["merger"].parent == ()


@pytest.mark.parametrize("question", [name for name in GZD5_QUESTIONS])
def test_every_class_just_above_and_at_its_threshold(question):
    for answer in GZD5_QUESTIONS[question].answers:
        above = _label(question, {answer.label: answer.threshold + 1e-6})
        at = _label(question, {answer.label: answer.threshold})
        assert above == answer.label
        assert pd.isna(at), f"{question}: {answer.label} at its threshold passes"


@pytest.mark.parametrize(
    "question", [q for q in GZD5_QUESTIONS if GZD5_QUESTIONS[q].parent]
)
def test_parent_branch_must_hold(question):
    q = GZD5_QUESTIONS[question]
    answer = q.answers[0]
    for condition in q.parent:
        failing = {condition.column: condition.threshold}  # not strictly above
        assert pd.isna(_label(question, {answer.label: 0.99}, **failing))
        holding = {condition.column: condition.threshold + 0.01}
        assert _label(question, {answer.label: 0.99}, **holding) == answer.label


def test_two_answers_passing_gives_no_class():
    # Four arms > 0.4 and one arm > 0.5 can both pass.
    assert pd.isna(_label("arm_count", {"1": 0.52, "4": 0.45}))
    assert _label("arm_count", {"1": 0.52, "4": 0.4}) == "1"
    # Boxy > 0.5 and none > 0.5 cannot both hold with fractions summing to 1,
    # but weak and strong bar at 0.6 are both below the threshold.
    assert pd.isna(_label("bar", {"weak": 0.6, "strong": 0.4}))


def test_nan_fraction_passes_nothing():
    assert pd.isna(_label("bar", {"no": np.nan}))
    assert pd.isna(_label("bar", {"no": 0.9}, **{FEATURED: np.nan}))


def test_dataframe_of_all_questions_keeps_index_and_categories():
    rows = [
        _row(q, {GZD5_QUESTIONS[q].answers[-1].label: 0.95}) for q in GZD5_QUESTIONS
    ]
    catalog = pd.DataFrame(rows).fillna(0.0)
    catalog.index = [f"g{i}" for i in range(len(catalog))]
    labels = gzd5_labels(catalog)
    assert list(labels.columns) == list(GZD5_QUESTIONS)
    assert list(labels.index) == list(catalog.index)
    for i, (name, q) in enumerate(GZD5_QUESTIONS.items()):
        assert list(labels[name].cat.categories) == list(q.classes)
        assert labels[name].iloc[i] == q.answers[-1].label


def test_astropy_table_with_masked_column():
    rows = [_row("edge_on", {"edge-on": 0.9}), _row("edge_on", {"not edge-on": 0.85})]
    table = Table(rows=[list(r.values()) for r in rows], names=list(rows[0]))
    table[EDGE_YES] = MaskedColumn([0.9, 0.1], mask=[True, False])
    labels = gzd5_labels(table, "edge_on")
    assert pd.isna(labels.iloc[0]) and labels.iloc[1] == "not edge-on"
    assert isinstance(labels.index, pd.RangeIndex)


def test_missing_columns_are_all_named():
    catalog = pd.DataFrame({"bar_no_fraction": [0.9]})
    with pytest.raises(KeyError) as info:
        gzd5_labels(catalog, "bar")
    message = str(info.value)
    for column in ("bar_weak_fraction", "bar_strong_fraction", FEATURED, EDGE_NO):
        assert column in message
    assert SMOOTH not in message and ARMS_YES not in message


def test_unknown_question_and_wrong_catalog_type():
    with pytest.raises(KeyError, match="Unknown question 'bars'"):
        gzd5_labels(pd.DataFrame(), "bars")
    with pytest.raises(TypeError, match="DataFrame or an astropy Table"):
        gzd5_labels(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="'bar_no_fraction' must hold vote fractions"):
        gzd5_labels(
            pd.DataFrame([_row("bar", {}) | {"bar_no_fraction": "many"}]), "bar"
        )
