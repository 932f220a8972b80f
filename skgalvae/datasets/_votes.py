"""Simulate Galaxy Zoo DECaLS (GZD-5) volunteer votes from true morphology.

Volunteers walk the decision tree: about 40 answer the first question, and
each later question is answered only by those who took the branch leading to
it, so deep questions get few votes, as in the real catalogue. Each volunteer
picks the true answer with a per-galaxy "clarity" drawn from a Beta
distribution, and otherwise a neighbouring answer (for ordered answers such as
bar strength or bulge size) or any other answer; for a few per cent of
galaxies the crowd as a whole misreads the galaxy and favours a neighbouring
answer, so consensus labels are not always the truth. Questions without a true
answer for the galaxy (a volunteer calling a smooth galaxy featured) get votes
from a fixed fallback distribution. The result has the public catalogue's
columns: ``{question}_{answer}_fraction`` and ``{question}_total-votes``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import GZD5_QUESTIONS, vote_column

ROOT_VOTES = 40
# Probability that the crowd as a whole misreads a galaxy for a question and
# favours a neighbouring answer: real consensus labels are not always right.
MISPERCEPTION = 0.04
# Every GZD-5 question: its answers (catalogue order), the answer of its
# parent whose voters answer it, whether its answers are ordered, and the
# vote distribution used when the galaxy has no true answer for it.
VOTE_TREE = {
    "smooth-or-featured": dict(
        answers=("smooth", "featured-or-disk", "artifact"),
        parent=None,
        ordered=False,
        fallback=(0.5, 0.45, 0.05),
    ),
    "disk-edge-on": dict(
        answers=("yes", "no"),
        parent=("smooth-or-featured", "featured-or-disk"),
        ordered=False,
        fallback=(0.3, 0.7),
    ),
    "has-spiral-arms": dict(
        answers=("yes", "no"),
        parent=("disk-edge-on", "no"),
        ordered=False,
        fallback=(0.2, 0.8),
    ),
    "bar": dict(
        answers=("strong", "weak", "no"),
        parent=("disk-edge-on", "no"),
        ordered=True,
        fallback=(0.05, 0.15, 0.8),
    ),
    "bulge-size": dict(
        answers=("dominant", "large", "moderate", "small", "none"),
        parent=("disk-edge-on", "no"),
        ordered=True,
        fallback=(0.3, 0.4, 0.2, 0.07, 0.03),
    ),
    "how-rounded": dict(
        answers=("round", "in-between", "cigar-shaped"),
        parent=("smooth-or-featured", "smooth"),
        ordered=True,
        fallback=(0.2, 0.5, 0.3),
    ),
    "edge-on-bulge": dict(
        answers=("boxy", "none", "rounded"),
        parent=("disk-edge-on", "yes"),
        ordered=False,
        fallback=(0.2, 0.4, 0.4),
    ),
    "spiral-winding": dict(
        answers=("tight", "medium", "loose"),
        parent=("has-spiral-arms", "yes"),
        ordered=True,
        fallback=(0.3, 0.4, 0.3),
    ),
    "spiral-arm-count": dict(
        answers=("1", "2", "3", "4", "more-than-4", "cant-tell"),
        parent=("has-spiral-arms", "yes"),
        ordered=True,
        fallback=(0.1, 0.3, 0.1, 0.05, 0.05, 0.4),
    ),
    "merging": dict(
        answers=("none", "minor-disturbance", "major-disturbance", "merger"),
        parent=None,
        ordered=True,
        fallback=(0.85, 0.08, 0.04, 0.03),
    ),
}


def _confusion(n_answers, ordered):
    """Where a volunteer's vote goes when it misses the true answer."""
    index = np.arange(n_answers)
    distance = np.abs(index[:, None] - index[None, :]).astype(float)
    weight = np.exp(-2.0 * (distance - 1)) if ordered else np.ones_like(distance)
    np.fill_diagonal(weight, 0.0)
    return weight / weight.sum(axis=1, keepdims=True)


def _true_answers(labels, smooth):
    """Return the true catalogue answer index per question, -1 where none applies."""
    truth = {}
    for name, question in GZD5_QUESTIONS.items():
        answers = VOTE_TREE[question.catalog_question]["answers"]
        # Class code (Table 2 order, -1 where missing) -> catalogue answer index.
        to_answer = np.array(
            [answers.index(a.catalog_answer) for a in question.answers]
        )
        codes = labels[name].cat.codes.to_numpy()
        truth[question.catalog_question] = np.where(codes >= 0, to_answer[codes], -1)
    truth["smooth-or-featured"] = np.where(smooth, 0, 1)
    return truth


def simulate_votes(labels, params, rng):
    """Simulate GZD-5 vote fractions for galaxies of known morphology.

    Parameters
    ----------
    labels : pandas.DataFrame
        True classes per question (:func:`~._population.draw_population`).
    params : pandas.DataFrame
        Physical parameters; the ``morphology`` column gives the true answer
        of the first question (smooth or featured).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        Vote fractions (NaN where nobody answered) and vote totals.
    """
    n = len(labels)
    smooth = (params["morphology"] == "smooth").to_numpy()
    truth = _true_answers(labels, smooth)
    # Clarity: how often a volunteer gives the true answer. Weak bars and
    # tight arm counts are hard to see; most first-level answers are easy.
    clarity_mean = {
        "smooth-or-featured": 0.88,
        "disk-edge-on": 0.92,
        "has-spiral-arms": 0.9,
        "bar": 0.82,
        "bulge-size": 0.78,
        "how-rounded": 0.88,
        "edge-on-bulge": 0.8,
        "spiral-winding": 0.8,
        "spiral-arm-count": 0.82,
        "merging": 0.9,
    }
    counts = {}
    columns = {}
    for question, spec in VOTE_TREE.items():
        answers = spec["answers"]
        if spec["parent"] is None:
            total = rng.poisson(ROOT_VOTES, n)
        else:
            parent_q, parent_a = spec["parent"]
            parent_answers = VOTE_TREE[parent_q]["answers"]
            total = counts[parent_q][:, parent_answers.index(parent_a)]
        mean = clarity_mean[question]
        clarity = rng.beta(12 * mean, 12 * (1 - mean), n)
        confusion = _confusion(len(answers), spec["ordered"])
        true_index = truth[question]
        known = true_index >= 0
        misread = known & (rng.random(n) < MISPERCEPTION)
        cumulative = np.cumsum(confusion[true_index[misread]], axis=1)
        u = rng.random((misread.sum(), 1))
        perceived = true_index.copy()
        perceived[misread] = np.minimum((cumulative < u).sum(axis=1), len(answers) - 1)
        true_index = perceived
        probabilities = np.tile(np.asarray(spec["fallback"], dtype=float), (n, 1))
        onehot = np.eye(len(answers))[true_index[known]]
        probabilities[known] = (
            clarity[known, None] * onehot
            + (1 - clarity[known, None]) * confusion[true_index[known]]
        )
        votes = rng.multinomial(total, probabilities)
        counts[question] = votes
        with np.errstate(invalid="ignore", divide="ignore"):
            fractions = votes / total[:, None]
        fractions[total == 0] = np.nan
        for j, answer in enumerate(answers):
            columns[vote_column(question, answer)] = fractions[:, j]
        columns[f"{question}_total-votes"] = total
    return pd.DataFrame(columns)
