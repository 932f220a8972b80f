"""Galaxy Zoo DECaLS (GZD-5) morphology labels from vote fractions.

The study (Xu et al. 2023, Table 2) splits the GZD-5 decision tree into nine
questions with 26 classes. A galaxy gets a class for a question only when
exactly one of the question's answers passes its vote-fraction threshold and
the question's parent branch holds; otherwise it is left out of that question
(its label is missing). :data:`GZD5_QUESTIONS` holds the tree, with column
names that follow the public GZ DECaLS catalogues (Walmsley et al. 2022), e.g.
``smooth-or-featured_smooth_fraction`` or ``bar_strong_fraction``.

The parent cuts follow the authors' selection script: smooth fraction > 0.7 for
the shape of smooth galaxies, featured fraction > 0.5 for disk questions, and
the edge-on / has-arms answer > 0.5 below them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "GZD5_QUESTIONS",
    "Answer",
    "Condition",
    "Question",
    "first_level_classes",
    "gzd5_labels",
]


def vote_column(question: str, answer: str) -> str:
    """Name of the vote-fraction column of one answer in the GZ DECaLS catalogues.

    Parameters
    ----------
    question : str
        Catalogue name of the question, e.g. ``"bar"``.
    answer : str
        Catalogue name of the answer, e.g. ``"strong"``.

    Returns
    -------
    str
        E.g. ``"bar_strong_fraction"``.
    """
    return f"{question}_{answer}_fraction"


@dataclass(frozen=True)
class Condition:
    """A vote fraction that must exceed a threshold.

    Attributes
    ----------
    column : str
        Vote-fraction column of the catalogue.
    threshold : float
        The fraction must be strictly greater than this.
    """

    column: str
    threshold: float


@dataclass(frozen=True)
class Answer:
    """One class of a question: the answer's column and its threshold.

    Attributes
    ----------
    label : str
        Class name used in label columns, e.g. ``"not edge-on"``.
    catalog_answer : str
        Name of the answer in the catalogue columns, e.g. ``"no"``.
    column : str
        Vote-fraction column of the answer, e.g. ``"disk-edge-on_no_fraction"``.
    threshold : float
        The fraction must be strictly greater than this for the class.
    """

    label: str
    catalog_answer: str
    column: str
    threshold: float


@dataclass(frozen=True)
class Question:
    """One of the study's nine morphology questions.

    Attributes
    ----------
    name : str
        Key used for label columns, e.g. ``"bar"``.
    description : str
        The question as Table 2 of the study words it.
    catalog_question : str
        Name of the question in the GZ DECaLS catalogue columns.
    answers : tuple of Answer
        The question's classes, in Table 2 order.
    parent : tuple of Condition
        Conditions on ancestor answers that must all hold for the question to
        apply; empty for questions asked of every galaxy.
    """

    name: str
    description: str
    catalog_question: str
    answers: tuple
    parent: tuple = ()

    @property
    def classes(self) -> tuple:
        """Class names in Table 2 order."""
        return tuple(answer.label for answer in self.answers)

    @property
    def columns(self) -> tuple:
        """Every catalogue column the question reads (parent cuts first)."""
        return tuple(c.column for c in self.parent) + tuple(
            a.column for a in self.answers
        )


def _question(name, description, catalog_question, answers, parent=()):
    return Question(
        name=name,
        description=description,
        catalog_question=catalog_question,
        answers=tuple(
            Answer(label, answer, vote_column(catalog_question, answer), threshold)
            for label, answer, threshold in answers
        ),
        parent=tuple(parent),
    )


_SMOOTH = Condition(vote_column("smooth-or-featured", "smooth"), 0.7)
_FEATURED = Condition(vote_column("smooth-or-featured", "featured-or-disk"), 0.5)
_EDGE_ON = Condition(vote_column("disk-edge-on", "yes"), 0.5)
_FACE_ON = Condition(vote_column("disk-edge-on", "no"), 0.5)
_ARMS = Condition(vote_column("has-spiral-arms", "yes"), 0.5)

#: The nine questions of the study's Table 2, keyed by :attr:`Question.name`.
GZD5_QUESTIONS: dict = {
    q.name: q
    for q in (
        _question(
            "how_rounded",
            "How rounded is the smooth galaxy?",
            "how-rounded",
            [
                ("round", "round", 0.8),
                ("in-between", "in-between", 0.8),
                ("cigar-shaped", "cigar-shaped", 0.8),
            ],
            [_SMOOTH],
        ),
        _question(
            "edge_on",
            "Is the disk edge-on?",
            "disk-edge-on",
            [("edge-on", "yes", 0.8), ("not edge-on", "no", 0.8)],
            [_FEATURED],
        ),
        _question(
            "bulge_shape",
            "What shape is the bulge of the edge-on disk?",
            "edge-on-bulge",
            [("rounded", "rounded", 0.8), ("boxy", "boxy", 0.5), ("none", "none", 0.5)],
            [_FEATURED, _EDGE_ON],
        ),
        _question(
            "bar",
            "Is there a bar?",
            "bar",
            [("no", "no", 0.8), ("weak", "weak", 0.6), ("strong", "strong", 0.6)],
            [_FEATURED, _FACE_ON],
        ),
        _question(
            "has_arms",
            "Are there spiral arms?",
            "has-spiral-arms",
            [("yes", "yes", 0.8), ("no", "no", 0.5)],
            [_FEATURED, _FACE_ON],
        ),
        _question(
            "arm_tightness",
            "How tightly wound are the spiral arms?",
            "spiral-winding",
            [
                ("tight", "tight", 0.8),
                ("medium", "medium", 0.6),
                ("loose", "loose", 0.8),
            ],
            [_FEATURED, _FACE_ON, _ARMS],
        ),
        _question(
            "arm_count",
            "How many spiral arms are there?",
            "spiral-arm-count",
            [("1", "1", 0.5), ("2", "2", 0.9), ("3", "3", 0.5), ("4", "4", 0.4)],
            [_FEATURED, _FACE_ON, _ARMS],
        ),
        _question(
            "bulge_size",
            "How large is the bulge of the face-on disk?",
            "bulge-size",
            [
                ("none", "none", 0.5),
                ("small", "small", 0.7),
                ("moderate", "moderate", 0.6),
                ("large", "large", 0.4),
            ],
            [_FEATURED, _FACE_ON],
        ),
        _question(
            "merger",
            "Is the galaxy merging?",
            "merging",
            [("merger", "merger", 0.6), ("none", "none", 0.8)],
        ),
    )
}


def _catalog_columns(catalog):
    """Column names of a DataFrame or astropy Table, and how to read one."""
    if isinstance(catalog, pd.DataFrame):
        return list(catalog.columns), catalog.index
    colnames = getattr(catalog, "colnames", None)
    if colnames is None:
        raise TypeError(
            "catalog must be a pandas DataFrame or an astropy Table; got "
            f"{type(catalog).__name__}."
        )
    return list(colnames), pd.RangeIndex(len(catalog))


def _fractions(catalog, column):
    """One vote-fraction column as float64, masked entries as NaN."""
    values = catalog[column]
    if hasattr(values, "filled"):  # astropy MaskedColumn
        values = values.filled(np.nan) if np.ma.is_masked(values) else values
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"catalog column {column!r} must hold vote fractions (numbers); "
            f"it has dtype {np.asarray(values).dtype}."
        ) from exc


def _question_labels(catalog, question, index):
    parent_holds = np.ones(len(index), dtype=bool)
    for condition in question.parent:
        # NaN (no votes) fails the comparison: the branch does not hold.
        parent_holds &= _fractions(catalog, condition.column) > condition.threshold
    passed = np.stack(
        [_fractions(catalog, a.column) > a.threshold for a in question.answers],
        axis=1,
    )
    unique = passed.sum(axis=1) == 1
    codes = np.where(parent_holds & unique, passed.argmax(axis=1), -1)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=list(question.classes)),
        index=index,
        name=question.name,
    )


def gzd5_labels(catalog, question: str | None = None):
    """Turn a GZD-5 vote-fraction catalogue into the study's class labels.

    For each question of :data:`GZD5_QUESTIONS`, a galaxy gets the class whose
    answer's vote fraction is strictly above its threshold, provided exactly
    one answer passes and every parent-branch cut holds. Galaxies that fail
    either test get a missing label and drop out of that question's sample, as
    in the study. A missing fraction (NaN, or masked in an astropy Table:
    nobody answered) passes no threshold.

    Parameters
    ----------
    catalog : pandas.DataFrame or astropy.table.Table
        One row per galaxy with the vote-fraction columns of the public GZ
        DECaLS catalogues, e.g. ``smooth-or-featured_smooth_fraction``,
        ``bar_strong_fraction``.
    question : str, default=None
        A key of :data:`GZD5_QUESTIONS` to label only that question; all nine
        when None.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Categorical labels (categories in Table 2 order), one Series for
        ``question``, or a DataFrame with one column per question. The index
        is the DataFrame's, or a RangeIndex for an astropy Table.

    Raises
    ------
    KeyError
        If ``question`` is unknown, or the catalogue lacks columns the
        requested questions need (all missing columns are named).

    Examples
    --------
    >>> import pandas as pd
    >>> from skgalvae.labels import gzd5_labels
    >>> votes = pd.DataFrame({
    ...     "bar_no_fraction": [0.9, 0.3, 0.2],
    ...     "bar_weak_fraction": [0.1, 0.65, 0.4],
    ...     "bar_strong_fraction": [0.0, 0.05, 0.4],
    ...     "smooth-or-featured_featured-or-disk_fraction": [0.8, 0.9, 0.9],
    ...     "disk-edge-on_no_fraction": [0.9, 0.9, 0.9],
    ... })
    >>> gzd5_labels(votes, "bar").tolist()
    ['no', 'weak', nan]
    """
    if question is not None and question not in GZD5_QUESTIONS:
        raise KeyError(
            f"Unknown question {question!r}; choose one of {list(GZD5_QUESTIONS)}."
        )
    questions = (
        [GZD5_QUESTIONS[question]]
        if question is not None
        else list(GZD5_QUESTIONS.values())
    )
    columns, index = _catalog_columns(catalog)
    present = set(columns)
    missing = sorted({column for q in questions for column in q.columns} - present)
    if missing:
        asked = question if question is not None else "all questions"
        raise KeyError(
            f"The catalog lacks the vote-fraction columns {missing} needed for {asked}."
        )
    labels = [_question_labels(catalog, q, index) for q in questions]
    if question is not None:
        return labels[0]
    return pd.concat(labels, axis=1)


def first_level_classes(labels: pd.DataFrame) -> pd.Series:
    """Return the first-level GZD-5 class of each galaxy (Fig. 4, colours).

    Smooth galaxies by roundness (round, in-between, cigar-shaped), disks as
    edge-on, spiral (arms) or featured (a face-on disk without a clear arm
    vote); galaxies without a confident answer are "uncertain".

    Parameters
    ----------
    labels : DataFrame
        GZD-5 labels (:func:`skgalvae.labels.gzd5_labels`).

    Returns
    -------
    Series of str

    Examples
    --------
    >>> from skgalvae.datasets import make_galaxies
    >>> from skgalvae.labels import first_level_classes
    >>> labels = make_galaxies(200, random_state=0).labels
    >>> sorted(first_level_classes(labels).unique())  # doctest: +NORMALIZE_WHITESPACE
    ['cigar-shaped', 'edge-on', 'featured', 'in-between', 'round', 'spiral']
    """
    classes = pd.Series("uncertain", index=labels.index, dtype=object)
    face_on = labels["edge_on"] == "not edge-on"
    classes[face_on] = "featured"
    classes[face_on & (labels["has_arms"] == "yes")] = "spiral"
    classes[labels["edge_on"] == "edge-on"] = "edge-on"
    rounded = labels["how_rounded"].notna()
    classes[rounded] = labels["how_rounded"][rounded].astype(str)
    return classes
