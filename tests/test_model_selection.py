import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from skgalvae.model_selection import KneeRefit, find_knee

N_LATENT = [10, 20, 40, 60, 80, 100]


def saturating(x, scale):
    return 1 - np.exp(-np.asarray(x, float) / scale)


@pytest.mark.parametrize("cap", [20, 40, 60, 80])
def test_kneedle_finds_the_corner_of_a_capped_line(cap):
    assert N_LATENT[find_knee(N_LATENT, np.minimum(N_LATENT, cap))] == cap


@pytest.mark.parametrize("scale, expected", [(5, 20), (15, 40)])
def test_kneedle_follows_where_a_smooth_curve_bends(scale, expected):
    assert N_LATENT[find_knee(N_LATENT, saturating(N_LATENT, scale))] == expected


def test_order_of_points_does_not_matter():
    y = saturating(N_LATENT, 15)
    order = np.random.default_rng(0).permutation(len(N_LATENT))
    knee = find_knee(np.array(N_LATENT)[order], y[order])
    assert np.array(N_LATENT)[order][knee] == 40


def test_decreasing_scores_mirror_increasing_ones():
    y = saturating(N_LATENT, 15)
    assert find_knee(N_LATENT, -y, direction="decreasing") == find_knee(N_LATENT, y)


def test_fraction_rule_takes_the_smallest_size_reaching_the_share():
    y = [0.0, 0.5, 0.85, 0.95, 0.99, 1.0]
    assert N_LATENT[find_knee(N_LATENT, y, method="fraction", fraction=0.9)] == 60
    assert N_LATENT[find_knee(N_LATENT, y, method="fraction", fraction=0.8)] == 40
    assert N_LATENT[find_knee(N_LATENT, y, method="fraction", fraction=1.0)] == 100


def test_no_bend_takes_the_largest_and_flat_the_smallest():
    assert find_knee(N_LATENT, N_LATENT) == len(N_LATENT) - 1  # a straight line
    accelerating = np.array(N_LATENT, float) ** 2
    assert find_knee(N_LATENT, accelerating) == len(N_LATENT) - 1
    assert find_knee(N_LATENT, np.full(6, 0.7)) == 0


def test_noisy_non_monotonic_scores_still_give_the_bend():
    y = saturating(N_LATENT, 15) + np.array([0, 0.01, -0.01, 0.01, -0.02, 0])
    assert N_LATENT[find_knee(N_LATENT, y)] == 40


@pytest.mark.parametrize(
    "x, y, match",
    [
        ([1, 2], [1.0], "equal length"),
        ([1], [1.0], "at least 2"),
        ([1, 2, 3], [0.1, np.nan, 0.3], r"y holds non-finite values at indices \[1\]"),
        ([1, 2, 2], [0.1, 0.2, 0.3], "repeats"),
    ],
)
def test_bad_input_is_named(x, y, match):
    with pytest.raises(ValueError, match=match):
        find_knee(x, y)


def test_bad_method_is_rejected():
    with pytest.raises(ValueError, match="method"):
        find_knee([1, 2], [1, 2], method="elbow")


def test_knee_refit_picks_the_best_candidate_per_size():
    # Two learning rates per size: the better one represents each size.
    cv_results = {
        "param_n_latent": np.array([10, 10, 20, 20, 40, 40, 80, 80]),
        "param_lr": np.array([1, 2] * 4),
        "mean_test_score": np.array([0.50, 0.10, 0.80, 0.10, 0.85, 0.95, 0.90, 0.10]),
    }
    # Best per size: 0.50, 0.80, 0.95, 0.90 -> knee at 40, candidate 5.
    assert KneeRefit("n_latent")(cv_results) == 5


def test_knee_refit_names_missing_columns():
    with pytest.raises(KeyError, match="param_vae__n_latent"):
        KneeRefit("vae__n_latent")(
            {"param_n_latent": [1, 2], "mean_test_score": [1, 2]}
        )


def test_knee_refit_drives_a_real_grid_search():
    # Rank-5 signal plus noise: PCA's likelihood climbs to 5 components, then
    # stays flat; the knee is the true rank.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 40)) * 3
    X += rng.normal(size=X.shape) * 0.5
    grid = [1, 2, 3, 5, 8, 12, 20]
    search = GridSearchCV(
        PCA(), {"n_components": grid}, refit=KneeRefit("n_components"), cv=3
    ).fit(X)
    assert search.best_params_ == {"n_components": 5}
    assert search.best_estimator_.n_components == 5
    assert search.best_estimator_.components_.shape == (5, 40)


# ------------------------------------------------------------ compare_features
def _two_sets(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["spiral", "elliptical"], n // 2)
    informative = (y == "spiral")[:, None] + rng.normal(0, 0.6, (n, 4))
    return y, {"noise": rng.normal(size=(n, 4)), "informative": informative}


@pytest.mark.slow  # 90 probe fits (30 forests of 300 trees)
def test_compare_features_finds_the_better_set_on_shared_folds():
    from skgalvae.model_selection import compare_features

    y, features = _two_sets()
    table = compare_features(features, y, random_state=0)
    assert list(table.columns) == [
        "probe", "features", "scoring", "mean", "sd", "n_folds", "difference",
        "p_value", "verdict",
    ]  # fmt: skip
    assert (table["scoring"] == "balanced_accuracy").all()
    assert len(table) == 6 and set(table["probe"]) == {"rf", "logreg", "knn"}
    assert (table["n_folds"] == 15).all()
    rows = table.set_index(["probe", "features"])
    for probe in ("rf", "logreg", "knn"):
        assert rows.loc[(probe, "noise"), "verdict"] == "baseline"
        better = rows.loc[(probe, "informative")]
        assert better["verdict"] == "better" and better["p_value"] < 0.05
        assert better["mean"] > 0.75 > rows.loc[(probe, "noise"), "mean"]
        assert better["difference"] == pytest.approx(
            better["mean"] - rows.loc[(probe, "noise"), "mean"]
        )


def test_compare_features_calls_equal_sets_a_tie_and_follows_the_baseline():
    from sklearn.model_selection import StratifiedKFold

    from skgalvae.model_selection import compare_features

    y, features = _two_sets()
    same = {"a": features["informative"], "b": features["informative"].copy()}
    table = compare_features(
        same, y, probes={"logreg": LogisticRegression()}, cv=StratifiedKFold(4)
    )
    assert (table["n_folds"] == 4).all()
    b = table.set_index("features").loc["b"]
    assert b["verdict"] == "tie" and b["difference"] == 0 and b["p_value"] == 1
    flipped = compare_features(
        features,
        y,
        baseline="informative",
        probes={"logreg": LogisticRegression()},
        random_state=0,
    ).set_index("features")
    assert flipped.loc["noise", "verdict"] == "worse"
    assert flipped.loc["informative", "verdict"] == "baseline"


def test_compare_features_scores_several_scorers_from_one_fit_per_fold():
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from skgalvae.model_selection import compare_features

    class CountingLogisticRegression(LogisticRegression):
        fits = 0

        def fit(self, X, y):
            type(self).fits += 1
            return super().fit(X, y)

    y, features = _two_sets()
    y = np.where(np.arange(len(y)) % 3 == 0, "elliptical", y)  # unbalanced
    folds = StratifiedKFold(4)
    table = compare_features(
        features,
        y,
        probes={"logreg": CountingLogisticRegression()},
        cv=folds,
        scoring=["balanced_accuracy", "accuracy"],
    )
    assert CountingLogisticRegression.fits == 2 * 4  # two sets, four folds
    assert len(table) == 4
    rows = table.set_index(["features", "scoring"])
    for name, X in features.items():
        for scoring in ("balanced_accuracy", "accuracy"):
            expected = cross_val_score(
                LogisticRegression(), X, y, cv=folds, scoring=scoring
            )
            assert rows.loc[(name, scoring), "mean"] == pytest.approx(expected.mean())
    assert set(rows.loc["noise", "verdict"]) == {"baseline"}
    assert set(rows.loc["informative", "verdict"]) <= {"better", "tie", "worse"}
    assert rows.loc[("informative", "balanced_accuracy"), "mean"] != pytest.approx(
        rows.loc[("informative", "accuracy"), "mean"]
    )


def test_corrected_ttest_is_less_confident_than_a_plain_paired_test():
    from scipy import stats

    from skgalvae.model_selection import corrected_ttest

    rng = np.random.default_rng(1)
    base = rng.uniform(0.7, 0.8, 15)
    scores = base + rng.normal(0.01, 0.01, 15)
    diff, p = corrected_ttest(scores, base, 0.25)
    assert diff == pytest.approx((scores - base).mean())
    d = scores - base
    t = d.mean() / np.sqrt((1 / 15 + 0.25) * d.var(ddof=1))
    assert p == pytest.approx(2 * stats.t.sf(abs(t), 14))
    assert p > stats.ttest_rel(scores, base).pvalue


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"features": {}}, "non-empty dict"),
        ({"features": {"pca": np.zeros((5, 2))}}, r"features\['pca'\] has 5 rows"),
        ({"baseline": "vae"}, "baseline 'vae' is not one of"),
        ({"y": np.zeros(120)}, "single class"),
        ({"features": {"pca": np.full((120, 2), np.nan)}}, "NaN"),
    ],
)
def test_compare_features_names_bad_input(kwargs, message):
    from skgalvae.model_selection import compare_features

    y, features = _two_sets()
    arguments = {"features": features, "y": y, **kwargs}
    with pytest.raises(ValueError, match=message):
        compare_features(arguments.pop("features"), arguments.pop("y"), **arguments)
