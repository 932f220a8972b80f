"""The computations of the study, one function per stage, no plotting.

Each stage takes arrays and fitted models and returns plain results (numbers
for ``results.json``) plus the arrays its figures need. They are cached by the
runner with :class:`joblib.Memory`, so they must be deterministic functions of
their arguments.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    precision_recall_fscore_support,
)
from sklearn.model_selection import GridSearchCV, KFold, ShuffleSplit, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch.callbacks import Callback

from ..datasets import make_survey_pairs
from ..inspection import latent_traversals
from ..metrics import domain_auc, mmd2
from ..metrics._mmd import _paired_mse
from ..model_selection import KneeRefit, compare_features, default_probes, find_knee
from ..plotting import embed_latents
from ..preprocessing import MTFStretch, Resize
from ..utils._domains import survey_latents
from ..utils._progress import progress
from ..vae._domain_adaptation import DomainAdaptedVAETransformer
from ..vae._outliers import LatentOutlierDetector
from ..vae._vae import VAETransformer
from ._paper import KNEE

__all__ = [
    "adapt_domains",
    "class_ssim",
    "classify_questions",
    "final_model",
    "latent_shift",
    "latent_outliers",
    "pictures",
    "probe_latents",
    "search_latents",
    "split_galaxies",
]


def split_galaxies(classes, test_size, seed):
    """Train and test indices, 70/30, stratified by first-level class if possible."""
    index = np.arange(len(classes))
    counts = pd.Series(classes).value_counts()
    stratify = np.asarray(classes) if counts.min() >= 2 else None
    return train_test_split(
        index, test_size=test_size, random_state=seed, stratify=stratify
    )


def _vae(config, n_train, model, max_epochs, **params):
    return VAETransformer(
        **config.model_params(model),
        max_epochs=max_epochs,
        batch_size=config.batch_size_for(n_train),
        device=config.device,
        random_state=config.seed,
        **params,
    )


class _SharedBar:
    """A progress bar that clones share: ``GridSearchCV`` deep-copies params."""

    def __init__(self, bar):
        self.bar = bar

    def __deepcopy__(self, memo):
        return self


class _EpochTick(Callback):
    """Advance the search's shared progress by one epoch of any of its fits."""

    def __init__(self, shared):
        self.shared = shared

    def on_epoch_end(self, net, **kwargs):
        """Tick once."""
        self.shared.bar.update(1)


def _ssim(estimator, X, y=None):
    """Scorer: the pipeline's own score, the VAE's mean SSIM."""
    return estimator.score(X)


def _active_latents(estimator, X, y=None):
    """Scorer: the fitted VAE's number of active latents (X is not used)."""
    return estimator[-1].n_active_latents_


def search_latents(X_train, stretch, model, config):
    """GridSearchCV over ``n_latent`` scored by SSIM, and its knee.

    Parameters
    ----------
    X_train : ndarray
        Training images.
    stretch : transformer or "passthrough"
        The pipeline's first step.
    model : str
        Name of the VAE in ``STUDY_MODELS``.
    config : StudyConfig
        Sizes and seeds.

    Returns
    -------
    dict
        ``model``, ``n_latent``, ``mean_ssim``, ``std_ssim``,
        ``active_latents`` (mean over splits), ``fit_time_s``, and the
        ``knee`` n_latent by :class:`~skgalvae.model_selection.KneeRefit`.
    """
    n_fit = int(len(X_train) * (0.75 if config.cv == 1 else 1 - 1 / config.cv))
    if config.cv == 1:
        cv = ShuffleSplit(n_splits=1, test_size=0.25, random_state=config.seed)
    else:
        cv = KFold(config.cv, shuffle=True, random_state=config.seed)
    knee_rule = KneeRefit("vae__n_latent", score="mean_test_ssim")
    # Progress counts the epochs of every fit: a fit can take minutes.
    with progress(
        total=len(config.latents) * config.cv * config.epochs,
        desc=f"  n_latent search ({model})",
        unit="epoch",
        leave=False,
    ) as bar:
        tick = [("study_progress", _EpochTick(_SharedBar(bar)))]
        vae = _vae(config, n_fit, model, config.epochs, callbacks=tick)
        search = GridSearchCV(
            Pipeline([("stretch", stretch), ("vae", vae)]),
            {"vae__n_latent": list(config.latents)},
            scoring={"ssim": _ssim, "active": _active_latents},
            cv=cv,
            refit=False,  # the chosen model is refit longer: final_model
            error_score="raise",
        ).fit(X_train)
    results = search.cv_results_
    out = {
        "model": model,
        "n_latent": [int(n) for n in results["param_vae__n_latent"]],
        "mean_ssim": results["mean_test_ssim"].tolist(),
        "std_ssim": results["std_test_ssim"].tolist(),
        "active_latents": results["mean_test_active"].tolist(),
        "fit_time_s": results["mean_fit_time"].tolist(),
    }
    knee = out["n_latent"][knee_rule(results)]
    out["knee_fraction_rule"] = out["n_latent"][
        find_knee(out["n_latent"], out["mean_ssim"], method="fraction")
    ]
    out["ssim_rises"] = ssim_rises(out["mean_ssim"])
    # A knee needs a rising curve; without one, the model is refit at the
    # candidate nearest the paper's choice, and the report says so.
    out["knee"] = knee if out["ssim_rises"] else None
    out["chosen"] = knee if out["ssim_rises"] else _nearest(out["n_latent"], KNEE)
    return out


def ssim_rises(mean_ssim, min_spread=0.01) -> bool:
    """Whether SSIM rises with n_latent enough to have a knee.

    It must vary by at least ``min_spread`` across the candidates and end
    higher than it starts (a falling curve means undertrained large models,
    and the best SSIM then often belongs to a collapsed small one).
    """
    spread = max(mean_ssim) - min(mean_ssim)
    return bool(spread >= min_spread and mean_ssim[-1] > mean_ssim[0])


def _nearest(candidates, value):
    return min(candidates, key=lambda n: (abs(np.log(n / value)), n))


def final_model(X_train, stretch, model, n_latent, config):
    """Fit the chosen VAE pipeline for ``config.final_epochs`` on ``X_train``.

    Its epochs are shown as they pass (a fit of minutes); the model returned
    is quiet again.
    """
    vae = _vae(config, len(X_train), model, config.final_epochs, n_latent=n_latent)
    pipe = Pipeline([("stretch", stretch), ("vae", vae.set_params(verbose=1))])
    pipe.fit(X_train)
    vae.set_params(verbose=0)
    return pipe


def class_ssim(model, X, classes):
    """SSIM of each image's reconstruction, and its mean per class (Fig. 4)."""
    stretched = model[:-1].transform(X)
    ssim = model[-1].score_samples_ssim(stretched)
    frame = pd.DataFrame({"class": np.asarray(classes), "ssim": ssim})
    per_class = frame.groupby("class")["ssim"].agg(["mean", "std", "count"])
    return {
        "test_ssim": float(ssim.mean()),
        "per_class": {
            name: {
                "mean": float(row["mean"]),
                "std": float(row["std"]) if row["count"] > 1 else None,
                "n": int(row["count"]),
            }
            for name, row in per_class.sort_values("mean").iterrows()
        },
    }


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


def latent_shift(Z_source, Z_target, star=None) -> dict:
    """How far apart an encoder puts the same galaxies seen by two surveys.

    Parameters
    ----------
    Z_source, Z_target : ndarray of shape (n_galaxies, n_latent)
        One encoder's latents of the same galaxies, row for row, in the two
        surveys (e.g. a VAE's, or a domain-adapted one's).
    star : ndarray of bool, default=None
        Galaxies with a bright star in the cutout, to split the MSE by.

    Returns
    -------
    dict
        ``median_mse``, ``mean_mse`` and ``mse`` (per galaxy, as
        :func:`~skgalvae.metrics.paired_latent_mse`); ``relative_median_mse``,
        the median over the source latents' mean variance (shrinking the
        latent space lowers the raw MSE without aligning anything, this ratio
        does not); ``mmd2`` between the two latent sets; ``domain_auc``, the
        cross-validated AUC of a classifier telling the surveys apart (0.5:
        aligned; :func:`~skgalvae.metrics.domain_auc`); with ``star``, the
        median MSE with and without a star and the star share among the 20
        largest MSEs.
    """
    mse = _paired_mse(Z_source, Z_target)
    spread = float(np.var(Z_source, axis=0).mean())
    out = {
        "median_mse": float(np.median(mse)),
        "relative_median_mse": float(np.median(mse)) / spread,
        "mean_mse": float(np.mean(mse)),
        "mmd2": float(mmd2(Z_source, Z_target)),
        "domain_auc": domain_auc(Z_source, Z_target, paired=True),
        "mse": mse,
    }
    if star is not None:
        star = np.asarray(star, dtype=bool)
        out.update(
            median_mse_star=float(np.median(mse[star])) if star.any() else None,
            median_mse_no_star=float(np.median(mse[~star])) if (~star).any() else None,
            top20_star_fraction=float(star[np.argsort(mse)[-20:]].mean()),
        )
    return out


def _stretched(images):
    return MTFStretch().fit_transform(images)


def _method_words(da):
    """Name a fitted adaptation by what it did, e.g. ``anchored, cluster_mmd, ...``."""
    encoder = "shared" if da.anchor_ is None else "anchored"
    fixed = " fixed" if da.weighting == "fixed" else ""
    return f"{encoder}, {da.adaptation_}, mmd_weight={da.mmd_weight:g}{fixed}"


def adapt_domains(vae, config):
    """Domain adaptation DECaLS -> BASS+MzLS on simulated survey pairs (Sec. 5).

    The same galaxies rendered by both surveys are split 70/30 by galaxy; a
    :class:`~skgalvae.DomainAdaptedVAETransformer` per ``config.mmd_weights``
    (the package's default from a fitted VAE: the source anchored,
    cluster-wise MMD) and
    per ``config.fixed_mmd_weights`` (the study's shared encoder and MMD) is
    adapted from ``vae`` on the training pairs.

    Returns
    -------
    results : dict
        Paired latent MSE and MMD^2 before and after, and the Table 4
        accuracies per question.
    arrays : dict
        Per-galaxy MSEs and the test image pairs, for the figures.
    """
    decals, bass = make_survey_pairs(
        config.n_pairs, image_size=config.image_size, random_state=config.seed + 1
    )
    X_s, X_t = _stretched(decals.images), _stretched(bass.images)
    train, test = train_test_split(
        np.arange(config.n_pairs), test_size=config.test_size, random_state=config.seed
    )
    encoders = {"before": vae}
    # The package's default from a fitted VAE, then the study's own method
    # (one shared encoder, MMD, its fixed lambda).
    study_method = {"anchor": None, "adaptation": "mmd", "weighting": "fixed"}
    runs = [("", {"mmd_weight": w}) for w in config.mmd_weights] + [
        ("study: ", {**study_method, "mmd_weight": w}) for w in config.fixed_mmd_weights
    ]
    for prefix, params in progress(runs, desc="  adapting", leave=False):
        da = DomainAdaptedVAETransformer(
            n_latent=vae.n_latent,
            architecture=vae.architecture_,
            hidden_dims=vae.hidden_dims_,
            likelihood=vae.likelihood_,
            noise=vae.noise,
            lr_schedule=vae.lr_schedule,
            invariance=vae.invariance,
            max_epochs=config.da_epochs,
            batch_size=max(2, config.batch_size_for(len(train))),
            paired=True,
            init=FrozenEstimator(vae),
            device=config.device,
            random_state=config.seed,
            verbose=1,  # epochs shown as they pass
            **params,
        ).fit(X_s[train], X_target=X_t[train])
        encoders[f"after ({prefix}{_method_words(da)})"] = da.set_params(verbose=0)

    star = decals.params["star"].to_numpy(bool)[test]
    labels = decals.labels
    forests = dict(
        n_trees=config.n_trees,
        min_samples=config.min_question_samples,
        random_state=config.seed,
    )
    shift, accuracy, mse = {}, {}, {}
    for name, encoder in encoders.items():
        Z_s = survey_latents(encoder, X_s, "source")
        Z_t = survey_latents(encoder, X_t, "target")
        shift[name] = latent_shift(Z_s[test], Z_t[test], star)
        mse[name] = shift[name].pop("mse")
        transfer = classify_questions(
            Z_s[train],
            labels.iloc[train],
            {"DECaLS": Z_s[test], "BASS, DECaLS RF": Z_t[test]},
            labels.iloc[test],
            **forests,
        )
        retrained = classify_questions(
            Z_t[train],
            labels.iloc[train],
            {"BASS, RF retrained": Z_t[test]},
            labels.iloc[test],
            **forests,
        )
        accuracy[name] = {
            q: {
                test_name: scores["accuracy"]
                for entry in (transfer[q], retrained[q])
                for test_name, scores in entry.get("scores", {}).items()
            }
            | ({"skipped": transfer[q]["skipped"]} if "skipped" in transfer[q] else {})
            for q in labels.columns
        }
    order = np.argsort(mse["before"])
    results = {
        "n_pairs": config.n_pairs,
        "n_train_pairs": len(train),
        "n_test_pairs": len(test),
        "latent_shift": shift,
        "accuracy": accuracy,
    }
    arrays = {
        "mse": mse,
        "lowest": order[:5],
        "highest": order[::-1][:5],
        "X_source": X_s[test],
        "X_target": X_t[test],
    }
    return results, arrays


def latent_outliers(Z, n_sigma, truth=None):
    """Galaxies beyond ``n_sigma`` standard deviations in any latent (Sec. 6).

    :class:`~skgalvae.LatentOutlierDetector` with both of its rules: the
    one-pass mean and standard deviation, and the study code's iterative
    clipping.

    Returns
    -------
    results : dict
        Per rule, the count and fraction of outliers; with the simulator's
        ``truth``, how many are defects or have a bright star, and the recall
        of defects.
    sigma : ndarray of shape (n,)
        Each galaxy's largest absolute standardised latent (one-pass rule).
    """
    results, sigmas = {"n_sigma": n_sigma, "n_galaxies": len(Z)}, {}
    for clipping in ("one-pass", "iterative"):
        detector = LatentOutlierDetector(n_sigma, clipping=clipping).fit(Z)
        sigma = sigmas[clipping] = detector.sigma(Z)
        outlier = detector.predict(Z) == -1
        entry = {
            "n_outliers": int(outlier.sum()),
            "fraction": float(outlier.mean()),
            "max_sigma": float(sigma.max()),
        }
        if truth is not None:
            defect = truth["defect"].to_numpy(bool)
            flagged = defect | truth["star"].to_numpy(bool)
            top = np.argsort(sigma)[::-1][: max(1, int(flagged.sum()))]
            entry.update(
                outliers_defect_or_star=int((outlier & flagged).sum()),
                defect_recall=float(outlier[defect].mean()) if defect.any() else None,
                # Ranking without a threshold: of as many top-ranked galaxies
                # as there are defects and stars, the share that is one.
                top_ranked_precision=float(flagged[top].mean()),
            )
        results[clipping] = entry
    if truth is not None:
        results["n_defects"] = int(truth["defect"].sum())
        results["n_star"] = int(truth["star"].sum())
    return results, sigmas["one-pass"]


#: Side of the thumbnails kept for the latent map, in pixels.
THUMBNAIL_SIDE = 32


def _thumbnails(preprocessing, X, chunk=256):
    """Return the images as the model sees them, at most 32 pixels a side."""
    side = X.shape[-1]
    shrink = Resize(THUMBNAIL_SIDE) if side > THUMBNAIL_SIDE else None
    out = []
    for start in range(0, len(X), chunk):
        images = preprocessing.transform(X[start : start + chunk])
        out.append(shrink.fit_transform(images) if shrink else images)
    return np.concatenate(out)


def pictures(model, X_test, Z_test, classes_test, config):
    """Reconstructions, latent traversals, a t-SNE map and prior samples.

    ``Z_test`` is ``model.transform(X_test)``, already computed by the
    classification stage.

    Returns
    -------
    dict
        Arrays for the figures: ``originals``/``reconstructions`` (a few per
        class), ``traversals`` (from :func:`latent_traversals`), ``tsne`` coordinates
        with their ``tsne_classes`` and ``tsne_images`` (thumbnails), and
        ``samples`` from the prior.
    """
    vae = model[-1]
    rng = np.random.default_rng(config.seed)
    classes_test = np.asarray(classes_test)
    shown = np.concatenate(
        [
            rng.permutation(np.flatnonzero(classes_test == c))[:2]
            for c in sorted(set(classes_test))
        ]
    )[:12]
    originals = model[:-1].transform(X_test[shown])

    # Traversals through the most-used latents, from the median galaxy.
    traversals = latent_traversals(vae, Z_test, n_dims=5, n_steps=7, span=3.0)

    subset = rng.permutation(len(Z_test))[: config.tsne_max]
    tsne = embed_latents(Z_test[subset], "tsne", random_state=config.seed)
    return {
        "originals": originals,
        "reconstructions": vae.reconstruct(originals),
        "shown_classes": classes_test[shown],
        "traversals": traversals,
        "tsne": tsne,
        "tsne_classes": classes_test[subset],
        "tsne_images": _thumbnails(model[:-1], X_test[subset]),
        "samples": vae.sample(16, random_state=config.seed),
    }
