"""How well a classifier tells two surveys apart from their latents."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from ._mmd import _check_pair, _check_paired


def domain_auc(
    Z_source,
    Z_target,
    *,
    classifier=None,
    cv: int = 5,
    paired: bool = False,
    random_state=0,
) -> float:
    """Cross-validated ROC AUC of a classifier telling two surveys apart.

    A domain classifier (Ganin et al. 2016; the "proxy A-distance" of
    Ben-David et al. 2007) is trained to say which survey each latent vector
    comes from, and scored on held-out rows. 0.5 means the surveys are
    indistinguishable in latent space (aligned); 1 means any galaxy's survey
    can be read off its latents. Unlike MMD^2, its scale does not depend on
    the latent space's, so values compare across models.

    Parameters
    ----------
    Z_source : array-like of shape (n_source, n_latent)
        Latents of one survey.
    Z_target : array-like of shape (n_target, n_latent)
        Latents of the other; any number of rows.
    classifier : classifier or None, default=None
        Estimator with ``predict_proba`` or ``decision_function``, cloned for
        each fold. ``None`` uses a
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`, which
        finds non-linear differences (a linear classifier misses surveys
        whose latent clouds differ in shape but not in mean).
    cv : int, default=5
        Number of stratified folds; each survey needs at least ``cv`` rows.
    paired : bool, default=False
        Whether row ``i`` of both is the same galaxy. The folds then keep
        each galaxy's two rows together: otherwise a classifier that learned
        one view of a galaxy as "source" calls its other view "source" too,
        and the AUC falls below 0.5 for surveys that are merely similar.
    random_state : int, RandomState instance or None, default=0
        Seed of the fold shuffling and of the default classifier.

    Returns
    -------
    float
        Mean ROC AUC over the folds, in [0, 1].

    See Also
    --------
    mmd2 : A kernel two-sample statistic on the same latents.
    paired_latent_mse : The per-galaxy shift, for the same galaxies in both.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.metrics import domain_auc
    >>> rng = np.random.default_rng(0)
    >>> same = domain_auc(rng.normal(size=(200, 4)), rng.normal(size=(200, 4)))
    >>> shifted = domain_auc(rng.normal(size=(200, 4)), rng.normal(size=(200, 4)) + 1)
    >>> bool(same < 0.6 < 0.8 < shifted)
    True
    """
    if isinstance(cv, bool) or not isinstance(cv, numbers.Integral) or cv < 2:
        raise ValueError(
            f"cv must be a whole number of folds >= 2 (each fold tests on "
            f"galaxies the classifier did not see); got {cv!r}."
        )
    Z_source, Z_target = _check_pair(Z_source, Z_target)
    for Z, name in ((Z_source, "Z_source"), (Z_target, "Z_target")):
        if len(Z) < cv:
            raise ValueError(
                f"domain_auc needs at least cv={cv} rows per survey; {name} has "
                f"{len(Z)}."
            )
    if classifier is None:
        classifier = HistGradientBoostingClassifier(
            max_iter=100, random_state=random_state
        )
    X = np.vstack([Z_source, Z_target])
    y = np.r_[np.zeros(len(Z_source), dtype=int), np.ones(len(Z_target), dtype=int)]
    groups = None
    if paired:
        _check_paired(len(Z_source), len(Z_target), "Z")
        groups = np.tile(np.arange(len(Z_source)), 2)
        folds = StratifiedGroupKFold(cv, shuffle=True, random_state=random_state)
    else:
        folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    # Folds by hand rather than cross_val_score, whose ``groups`` depends on
    # whether metadata routing is enabled (skada enables it on import).
    scores = []
    for train, test in folds.split(X, y, groups):
        fitted = clone(classifier).fit(X[train], y[train])
        scores.append(roc_auc_score(y[test], _positive_scores(fitted, X[test])))
    return float(np.mean(scores))


def _positive_scores(classifier, X):
    """Scores of the target class, from predict_proba or decision_function."""
    if hasattr(classifier, "predict_proba"):
        return classifier.predict_proba(X)[:, 1]
    return classifier.decision_function(X)
