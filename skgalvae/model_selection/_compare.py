"""Compare sets of features (latents, PCA, ...) as inputs to the same probes.

A difference between two feature sets is only worth reporting when it is
larger than what the choice of training galaxies alone produces. Every set
is scored by the same classifiers on the same repeated folds, and each is
tested against a baseline with the corrected resampled t-test of Nadeau &
Bengio (2003), which allows for the folds' overlapping training sets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring
from sklearn.model_selection import RepeatedStratifiedKFold, check_cv
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_array, column_or_1d

__all__ = ["compare_features", "corrected_ttest", "default_probes"]


def default_probes(random_state=None) -> dict:
    """Return the three classifiers that judge a set of features.

    A random forest (the study's probe), logistic regression and 10 nearest
    neighbours; the last two on standardised features. The forest and
    logistic regression weigh classes by their inverse frequency, so a rare
    class counts as much as a common one.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seed of the forest.

    Returns
    -------
    dict of str to estimator
        ``{"rf": ..., "logreg": ..., "knn": ...}``, unfitted.
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return {
        "rf": RandomForestClassifier(
            300, class_weight="balanced", n_jobs=-1, random_state=seed
        ),
        "logreg": make_pipeline(
            StandardScaler(),
            LogisticRegression(max_iter=3000, class_weight="balanced"),
        ),
        "knn": make_pipeline(StandardScaler(), KNeighborsClassifier(10)),
    }


@validate_params(
    {
        "scores": ["array-like"],
        "baseline": ["array-like"],
        "test_train_ratio": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def corrected_ttest(scores, baseline, test_train_ratio: float) -> tuple[float, float]:
    """Mean difference of paired fold scores and its corrected two-sided p-value.

    The folds of repeated cross-validation share most of their training data,
    so their scores are correlated and a plain paired t-test is far too
    confident. Nadeau & Bengio (2003) inflate the variance of the mean
    difference from ``1/k`` to ``1/k + n_test/n_train``.

    Parameters
    ----------
    scores, baseline : array-like of shape (k,)
        Scores of two methods on the same ``k >= 2`` folds.
    test_train_ratio : float
        ``n_test / n_train`` of the folds (0.25 for 5-fold CV).

    Returns
    -------
    difference : float
        Mean of ``scores - baseline``.
    p_value : float
        Two-sided p-value of a zero mean difference (1 when every difference
        is zero, 0 when they are all equal and nonzero).

    References
    ----------
    Nadeau, C. & Bengio, Y. (2003). Inference for the generalization error.
    Machine Learning 52, 239-281.

    Examples
    --------
    >>> from skgalvae.model_selection import corrected_ttest
    >>> diff, p = corrected_ttest([0.8, 0.82, 0.79], [0.7, 0.71, 0.72], 0.25)
    >>> round(diff, 3), p < 0.05
    (0.093, True)
    """
    scores = column_or_1d(check_array(scores, ensure_2d=False, input_name="scores"))
    baseline = column_or_1d(
        check_array(baseline, ensure_2d=False, input_name="baseline")
    )
    if len(scores) != len(baseline) or len(scores) < 2:
        raise ValueError(
            "scores and baseline must hold the same folds, at least 2; got "
            f"{len(scores)} and {len(baseline)}."
        )
    diff = scores - baseline
    mean, variance = float(diff.mean()), float(diff.var(ddof=1))
    if variance == 0:
        return mean, 1.0 if mean == 0 else 0.0
    k = len(diff)
    t = mean / math.sqrt((1 / k + test_train_ratio) * variance)
    return mean, float(2 * stats.t.sf(abs(t), df=k - 1))


def _check_features(features, n_samples):
    """Each feature set as a 2-d float array with one row per label."""
    if not isinstance(features, Mapping) or not features:
        raise ValueError(
            "features must be a non-empty dict of name -> array of shape "
            f"(n_samples, n_features); got {type(features).__name__}."
        )
    checked = {}
    for name, values in features.items():
        array = check_array(values, input_name=f"features[{name!r}]")
        if len(array) != n_samples:
            raise ValueError(
                f"features[{name!r}] has {len(array)} rows but y has {n_samples} "
                "labels; every feature set needs one row per labelled galaxy."
            )
        checked[name] = array
    return checked


@validate_params(
    {
        "features": [Mapping],
        "y": ["array-like"],
        "baseline": [str, None],
        "probes": [Mapping, None],
        "cv": ["cv_object"],
        "scoring": [str, callable, list, tuple, dict],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def compare_features(
    features: Mapping,
    y,
    *,
    baseline: str | None = None,
    probes: Mapping | None = None,
    cv=5,
    scoring="balanced_accuracy",
    alpha: float = 0.05,
    n_repeats: int = 3,
    random_state=None,
) -> pd.DataFrame:
    """Score feature sets by the same probes on the same folds, against a baseline.

    Every set of features (a VAE's latents, PCA's components, ...) is the
    input of each probe classifier, cross-validated on one shared list of
    folds; each set's fold scores are then compared with the baseline's on
    the same folds by :func:`corrected_ttest`. A difference whose p-value is
    ``alpha`` or more is a tie.

    Parameters
    ----------
    features : dict of str to array-like of shape (n_samples, n_features)
        The feature sets, by name; rows are the same galaxies as ``y``.
    y : array-like of shape (n_samples,)
        Class labels.
    baseline : str or None, default=None
        Name of the set the others are tested against; None takes the first.
    probes : dict of str to classifier or None, default=None
        Classifiers, cloned for every fold; None is :func:`default_probes`.
    cv : int, cross-validation generator or iterable, default=5
        An int is ``RepeatedStratifiedKFold(cv, n_repeats)``; anything else
        is used as given (``n_repeats`` is then ignored). Its folds are drawn
        once and shared by every set and probe.
    scoring : str, callable, list, tuple or dict, default="balanced_accuracy"
        A scikit-learn scorer (balanced accuracy does not reward predicting
        the common class), or several as in
        :func:`~sklearn.model_selection.cross_validate`: a list of scorer
        names or a dict of name to scorer. Every scorer reads the same
        fitted probe, so several cost one fit per fold.
    alpha : float, default=0.05
        Significance level of the verdicts.
    n_repeats : int, default=3
        Repeats of the stratified folds when ``cv`` is an int.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the default probes.

    Returns
    -------
    pandas.DataFrame
        One row per probe, feature set and scorer: ``probe``, ``features``,
        ``scoring`` (the scorer's name; ``"score"`` for a single callable),
        ``mean`` and ``sd`` of the fold scores, ``n_folds``, and against the
        baseline ``difference``, ``p_value`` and ``verdict``
        (``"baseline"``, ``"better"``, ``"worse"`` or ``"tie"``).

    See Also
    --------
    corrected_ttest : The paired test behind the verdicts.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.model_selection import compare_features
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 60)
    >>> informative = y[:, None] + rng.normal(0, 0.5, (120, 3))
    >>> noise = rng.normal(size=(120, 3))
    >>> table = compare_features({"noise": noise, "informative": informative}, y,
    ...                          n_repeats=1, random_state=0)
    >>> table.set_index(["probe", "features"]).loc["logreg", "verdict"].tolist()
    ['baseline', 'better']
    """
    y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"))
    features = _check_features(features, len(y))
    if baseline is None:
        baseline = next(iter(features))
    elif baseline not in features:
        raise ValueError(
            f"baseline {baseline!r} is not one of the feature sets {list(features)}."
        )
    if len(np.unique(y)) < 2:
        raise ValueError("y holds a single class; there is nothing to classify.")
    if isinstance(cv, Integral):
        cv = RepeatedStratifiedKFold(
            n_splits=cv, n_repeats=n_repeats, random_state=random_state
        )
    else:
        cv = check_cv(cv, y, classifier=True)
    folds = list(cv.split(np.zeros((len(y), 1)), y))
    if len(folds) < 2:
        raise ValueError(f"cv gives {len(folds)} fold; the test needs at least 2.")
    ratio = float(np.mean([len(test) / len(train) for train, test in folds]))
    probes = default_probes(random_state) if probes is None else probes
    score = _scorers(next(iter(probes.values())), scoring)

    rows = []
    for probe_name, probe in probes.items():
        # scores[set][scorer]: one value per fold, every scorer from one fit.
        scores = {}
        for name, X in features.items():
            per_fold = [
                score(clone(probe).fit(X[train], y[train]), X[test], y[test])
                for train, test in folds
            ]
            scores[name] = {
                key: np.array([fold[key] for fold in per_fold]) for key in per_fold[0]
            }
        for name, by_scorer in scores.items():
            for scoring_name, values in by_scorer.items():
                rows.append(
                    {
                        "probe": probe_name,
                        "features": name,
                        "scoring": scoring_name,
                        **_against_baseline(
                            values,
                            scores[baseline][scoring_name],
                            name == baseline,
                            ratio,
                            alpha,
                        ),
                    }
                )
    return pd.DataFrame(rows)


def _scorers(estimator, scoring):
    """Return ``score(fitted, X, y) -> {name: value}`` for one or several scorers."""
    scorer = check_scoring(estimator, scoring=scoring)
    if isinstance(scoring, (list, tuple, dict)):
        return scorer  # scikit-learn's multimetric scorer returns a dict
    name = scoring if isinstance(scoring, str) else "score"
    return lambda fitted, X, y: {name: scorer(fitted, X, y)}


def _against_baseline(values, baseline_values, is_baseline, ratio, alpha):
    """One table row's statistics: fold scores and the test against the baseline."""
    if is_baseline:
        difference, p_value, verdict = 0.0, 1.0, "baseline"
    else:
        difference, p_value = corrected_ttest(values, baseline_values, ratio)
        verdict = (
            "tie" if p_value >= alpha else ("better" if difference > 0 else "worse")
        )
    return {
        "mean": float(values.mean()),
        "sd": float(values.std(ddof=1)),
        "n_folds": len(values),
        "difference": difference,
        "p_value": p_value,
        "verdict": verdict,
    }
