"""Stage 2, classification on latents (Sec. 4.2, Table 3), and the probes.

A random forest per GZD-5 question on the chosen model's latents and on PCA
of the same dimension ("eigengalaxies"); then the first-level classes probed
by several classifiers on shared folds, latents against PCA
(:func:`~skgalvae.model_selection.compare_features`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    precision_recall_fscore_support,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from ..model_selection import compare_features, default_probes
from ..utils._progress import progress
from . import _paper as paper
from ._data import questions_of, stretcher
from ._stage import Stage, save_figure

__all__ = [
    "STAGE",
    "binomial_se",
    "classify_questions",
    "pca_baseline",
    "probe_latents",
]


def _flatten(X):
    return np.asarray(X, dtype=np.float32).reshape(len(X), -1)


def pca_baseline(stretch, n_components, seed):
    """Build the linear "eigengalaxy" encoder: PCA of the stretched pixels."""
    return Pipeline(
        [
            ("stretch", stretch),
            ("flatten", FunctionTransformer(_flatten)),
            ("pca", PCA(n_components=n_components, random_state=seed)),
        ]
    )


def _scores(y_true, y_pred):
    """Accuracy with its binomial standard error, balanced accuracy, macro F1."""
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="macro", zero_division=0
    )
    accuracy = float(accuracy_score(y_true, y_pred))
    return {
        "accuracy": accuracy,
        "accuracy_se": binomial_se(accuracy, len(y_true)),
        "balanced_accuracy": _balanced_accuracy(y_true, y_pred),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }


def _balanced_accuracy(y_true, y_pred):
    with warnings.catch_warnings():
        # A test set of one class (tiny runs) is scored all the same: the
        # recall of that class.
        warnings.filterwarnings("ignore", "A single label was found", UserWarning)
        return float(balanced_accuracy_score(y_true, y_pred))


def binomial_se(accuracy: float, n: int) -> float:
    """Return the standard error of an accuracy measured on ``n`` galaxies."""
    return float(np.sqrt(accuracy * (1 - accuracy) / max(n, 1)))


def _majority(y_train, y_test):
    """Score always answering the training set's most common class."""
    classes, counts = np.unique(y_train, return_counts=True)
    guess = classes[np.argmax(counts)]
    return {"class": str(guess), "accuracy": float(np.mean(y_test == guess))}


def classify_questions(
    Z_train,
    labels_train,
    Z_tests,
    labels_test,
    questions=None,
    *,
    n_trees: int = 200,
    min_samples: int = 20,
    random_state=0,
    desc: str = "  questions",
) -> dict:
    """Fit a random forest per question on latents; score on held-out galaxies.

    A question whose labelled training galaxies number fewer than
    ``min_samples``, or that has a single class, or no labelled test galaxy,
    is reported as skipped with its counts, never dropped.

    Parameters
    ----------
    Z_train : ndarray of shape (n_train, d)
        Training features.
    labels_train, labels_test : DataFrame
        One column per question, NaN where unlabelled.
    Z_tests : dict of str to ndarray
        Test features by name; the same forest scores each (e.g. the same
        galaxies seen by two surveys).
    questions : list of str, default=None
        Columns of the labels to classify; None takes them all.
    n_trees : int, default=200
        Trees per forest.
    min_samples : int, default=20
        Fewest labelled training galaxies a question needs.
    random_state : int, default=0
        Seed of the forests.
    desc : str
        Progress-bar label.

    Returns
    -------
    dict
        Per question: ``n_train``, ``n_test``, ``class_counts``,
        ``scores``: per test name, accuracy with its binomial standard error,
        balanced accuracy and macro precision, recall and F1, and
        ``majority``: the class most common in training and the accuracy of
        always answering it; or ``skipped`` with the reason.
    """
    questions = list(labels_train.columns) if questions is None else questions
    out = {}
    for question in progress(questions, desc=desc, leave=False):
        train = labels_train[question].notna().to_numpy()
        test = labels_test[question].notna().to_numpy()
        y_train = labels_train[question][train].astype(str).to_numpy()
        y_test = labels_test[question][test].astype(str).to_numpy()
        entry = {
            "n_train": int(train.sum()),
            "n_test": int(test.sum()),
            "class_counts": pd.Series(np.concatenate([y_train, y_test]))
            .value_counts()
            .to_dict(),
        }
        if train.sum() < min_samples:
            entry["skipped"] = (
                f"{train.sum()} labelled training galaxies, fewer than {min_samples}"
            )
        elif len(np.unique(y_train)) < 2:
            entry["skipped"] = f"a single class in training: {np.unique(y_train)}"
        elif test.sum() == 0:
            entry["skipped"] = "no labelled test galaxy"
        else:
            forest = RandomForestClassifier(
                n_estimators=n_trees, n_jobs=-1, random_state=random_state
            ).fit(Z_train[train], y_train)
            entry["scores"] = {
                name: _scores(y_test, forest.predict(Z[test]))
                for name, Z in Z_tests.items()
            }
            entry["majority"] = _majority(y_train, y_test)
        out[question] = entry
    return out


def probe_latents(encoded, classes, *, n_trees=300, n_repeats=3, random_state=0):
    """Judge each encoder's latents by three classifiers over repeated folds.

    Every galaxy's latents (training and test galaxies alike: the encoders
    never saw a label) are the features of a random forest, logistic
    regression and 10 nearest neighbours
    (:func:`~skgalvae.model_selection.default_probes`), scored by balanced
    accuracy over 5 stratified folds repeated ``n_repeats`` times, and each
    encoder is tested against PCA on the same folds
    (:func:`~skgalvae.model_selection.compare_features`).

    Parameters
    ----------
    encoded : dict of str to (ndarray, ndarray)
        Training and test latents per encoder; must include ``"pca"``.
    classes : array-like of shape (n_train + n_test,)
        The class of each galaxy, training galaxies first.
    n_trees : int, default=300
        Trees of the forest.
    n_repeats : int, default=3
        Repeats of the 5 folds.
    random_state : int, default=0
        Seed of the folds and the forest.

    Returns
    -------
    dict
        ``n_galaxies``, ``n_folds``, ``class_counts`` and ``rows``: per
        probe and encoder the mean and standard deviation of the fold
        scores, the difference from PCA, its p-value and the verdict.
    """
    features = {name: np.concatenate(pair) for name, pair in encoded.items()}
    y = np.asarray(classes).astype(str)
    probes = default_probes(random_state)
    probes["rf"].set_params(n_estimators=n_trees)
    with warnings.catch_warnings():
        # A class with fewer galaxies than folds is still scored, in fewer folds.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        table = compare_features(
            features, y, baseline="pca", probes=probes, cv=5, n_repeats=n_repeats,
            random_state=random_state,
        )  # fmt: skip
    return {
        "n_galaxies": len(y),
        "n_folds": int(table["n_folds"].iloc[0]),
        "class_counts": pd.Series(y).value_counts().to_dict(),
        "rows": table.to_dict("records"),
    }


def _encode(key, model, pca, X_train, X_test, config):
    return {
        "vae": (model.transform(X_train), model.transform(X_test)),
        "pca": (pca.fit(X_train).transform(X_train), pca.transform(X_test)),
    }


_encode.reads = ()


def _probes(key, encoded, classes, config):
    return probe_latents(
        encoded,
        classes,
        n_trees=config.n_trees,
        n_repeats=config.probe_repeats,
        random_state=config.seed,
    )


_probes.reads = ("n_trees", "probe_repeats", "seed")


def _compute(run):
    config, data, train, test = run.config, run.data, run.train, run.test
    n_latent = run.model[-1].n_latent
    n_pca = min(n_latent, len(train), int(np.prod(data.images.shape[1:])))
    pca = pca_baseline(stretcher(data), n_pca, config.seed)
    encoded = run.encoded = run.cached(_encode, run.model, pca, run.X_train, run.X_test)
    questions = questions_of(data)
    labels_train, labels_test = data.labels.iloc[train], data.labels.iloc[test]
    classification = {
        name: classify_questions(
            Z_tr,
            labels_train,
            {"test": Z_te},
            labels_test,
            questions,
            n_trees=config.n_trees,
            min_samples=config.min_question_samples,
            random_state=config.seed,
            desc=f"  {name.upper()} forests",
        )
        for name, (Z_tr, Z_te) in encoded.items()
    }
    classes = pd.concat([data.classes.iloc[train], data.classes.iloc[test]])
    run.results["classification"] = classification
    run.results["probes"] = run.cached(_probes, encoded, classes.to_numpy())
    return n_latent, n_pca


def _report(run, shown):
    n_latent, n_pca = shown
    _report_classification(
        run.report, run.results["classification"], n_latent, n_pca, run.out
    )
    _report_probes(run.report, run.results["probes"])


def _with_se(scores):
    """Write an accuracy with its standard error, e.g. ``0.882 ± 0.015``."""
    return f"{scores['accuracy']:.3f} ± {scores['accuracy_se']:.3f}"


def _report_classification(report, classification, n_latent, n_pca, out):
    from ._figures import plot_classification

    report.heading("2. Classification on latents (Sec. 4.2, Table 3)")
    report.text(
        f"A random forest per question on the {n_latent} VAE latents, and on "
        f"{n_pca} PCA components of the same input pixels (the linear "
        "'eigengalaxy' baseline), scored on the test galaxies. Accuracy is "
        "given with its standard error (binomial, from the number of test "
        "galaxies); 'majority' is the accuracy of always answering the "
        "training set's most common class, the floor a forest must clear; "
        "balanced accuracy is the mean recall over classes (0.5 for two "
        "classes guessed blindly), F1 the macro average."
    )
    rows, floor = [], []
    for question, entry in classification["vae"].items():
        counts = f"{entry['n_train']}/{entry['n_test']}"
        published = paper.CLASSIFICATION_ACCURACY.get(question)
        if "skipped" in entry:
            rows.append(
                [question, counts, f"skipped: {entry['skipped']}"]
                + [None] * 6
                + [published]
            )
            continue
        v = entry["scores"]["test"]
        p = classification["pca"][question]["scores"]["test"]
        majority = entry["majority"]["accuracy"]
        rows.append(
            [question, counts, majority, _with_se(v), v["balanced_accuracy"],
             v["f1"], _with_se(p), p["balanced_accuracy"], published]
        )  # fmt: skip
        if v["accuracy"] - majority <= 2 * v["accuracy_se"]:
            floor.append(f"{question} ({entry['majority']['class']!r}, {majority:.3f})")
    report.table(
        ["question", "n train/test", "majority", "VAE accuracy", "balanced",
         "F1", "PCA accuracy", "PCA balanced", "paper accuracy (Table 3)"],
        rows,
    )  # fmt: skip
    if floor:
        report.text(
            "Not clearly above always answering the most common class (within "
            "two standard errors of it): " + "; ".join(floor) + ". These "
            "accuracies say nothing about morphology."
        )
    if any("scores" in e for e in classification["vae"].values()):
        report.figure(
            save_figure(
                plot_classification(
                    classification["vae"],
                    classification["pca"],
                    paper=paper.CLASSIFICATION_ACCURACY,
                ),
                out,
                "classification.png",
            ),
            "Test accuracy per question: VAE latents versus PCA; black marks "
            "show the paper's Table 3.",
        )


def probe_cell(row):
    """Write a probe's fold scores, e.g. ``0.712 ± 0.025``."""
    return f"{row['mean']:.3f} ± {row['sd']:.3f}"


def _report_probes(report, probes):
    rows = pd.DataFrame(probes["rows"])
    encoders = [name for name in dict.fromkeys(rows["features"]) if name != "pca"]
    report.text(
        f"**Three probes, with their spread.** The same latents of all "
        f"{probes['n_galaxies']} galaxies (the encoders never saw a label) "
        "judged by a random forest, logistic regression and 10 nearest "
        f"neighbours on the galaxies' classes, over {probes['n_folds']} "
        "stratified folds: balanced accuracy, mean ± standard deviation over "
        "the folds. Each encoder is tested against PCA on the same folds "
        "(corrected resampled t-test, Nadeau & Bengio 2003); a difference "
        "with p ≥ 0.05 is a tie."
    )
    table = []
    for probe, group in rows.groupby("probe", sort=False):
        by_name = group.set_index("features")
        for name in encoders:
            row = by_name.loc[name]
            table.append(
                [probe, name.upper(), probe_cell(by_name.loc["pca"]), probe_cell(row),
                 f"{row['difference']:+.3f} (p = {row['p_value']:.3f})",
                 row["verdict"]]
            )  # fmt: skip
    report.table(
        ["probe", "latents", "PCA", "latents' score", "difference", "verdict"],
        table,
    )


STAGE = Stage("classification", _compute, _report)
