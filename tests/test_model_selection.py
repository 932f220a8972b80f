import numpy as np
import pytest
from sklearn.decomposition import PCA
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
