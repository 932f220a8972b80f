"""MMD^2 (loss and metric), its permutation test, and paired latent MSE."""

import numpy as np
import pytest
import torch

from skgalvae.metrics import mmd2, mmd2_permutation_test, paired_latent_mse
from skgalvae.nn import mmd2 as torch_mmd2
from skgalvae.nn import rbf_bandwidths


def test_near_zero_for_one_distribution_and_grows_with_a_mean_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 5)), rng.normal(size=(200, 5))
    assert abs(mmd2(a, b)) < 0.01
    # The very same sample: the unbiased estimator drops the diagonal of the
    # within terms only, so it sits just below 0, by at most 2 * n_kernels / m.
    assert -2 * 5 / 300 < mmd2(a, a) <= 0
    values = [mmd2(a, b + shift) for shift in (0.25, 0.5, 1.0, 2.0)]
    assert values[0] > 0.01 and np.all(np.diff(values) > 0)
    linear = [mmd2(a, b + shift, kernel="linear") for shift in (0.5, 1.0)]
    # Linear kernel: the squared distance between the means, 5 * shift^2.
    assert linear[0] == pytest.approx(5 * 0.25, abs=0.3)
    assert linear[1] == pytest.approx(5 * 1.0, abs=0.4)


def test_unbiased_expectation_with_unequal_sizes():
    # For the linear kernel E[MMD^2_u] = |mu_s - mu_t|^2 exactly; the biased
    # V-statistic would add tr(Sigma) (1/m + 1/n) = 2 (1/5 + 1/7) = 0.69.
    rng = np.random.default_rng(1)
    delta = np.array([0.5, 0.0])
    draws = [
        mmd2(rng.normal(size=(5, 2)), rng.normal(size=(7, 2)) + delta, kernel="linear")
        for _ in range(4000)
    ]
    assert np.mean(draws) == pytest.approx(0.25, abs=0.03)
    rbf = [mmd2(rng.normal(size=(6, 3)), rng.normal(size=(9, 3))) for _ in range(1000)]
    assert abs(np.mean(rbf)) < 0.02


def test_bandwidths_follow_the_studys_code():
    x = torch.tensor([[0.0], [1.0], [3.0]])
    sq = (x - x.T).square()
    mean_off_diagonal = sq.sum() / 6  # (1 + 9 + 4) * 2 / 6
    expected = mean_off_diagonal / 4 * torch.tensor([1.0, 2.0, 4.0, 8.0, 16.0])
    torch.testing.assert_close(rbf_bandwidths(sq), expected)


def test_the_loss_is_differentiable_and_descends():
    torch.manual_seed(0)
    source = torch.randn(64, 3)
    target = (torch.randn(48, 3) + 1.5).requires_grad_(True)
    before = torch_mmd2(source, target)
    before.backward()
    assert torch.isfinite(target.grad).all() and target.grad.abs().sum() > 0
    with torch.no_grad():
        moved = target - 5.0 * target.grad
    assert torch_mmd2(source, moved) < before


def test_errors_name_the_problem():
    a = np.zeros((10, 3))
    with pytest.raises(ValueError, match="Z_source has 3 columns but Z_target has 2"):
        mmd2(np.ones((10, 3)), np.ones((10, 2)))
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        mmd2(a, a[:1])
    with pytest.raises(ValueError, match="kernel must be 'rbf' or 'linear'"):
        mmd2(a, a + 1, kernel="poly")
    with pytest.raises(
        ValueError, match="at least 2 samples on each side; got 1 and 4"
    ):
        torch_mmd2(torch.zeros(1, 2), torch.zeros(4, 2))


def test_permutation_p_value():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(60, 4)), rng.normal(size=(40, 4))
    stat, p_same = mmd2_permutation_test(a, b, n_permutations=99, random_state=0)
    assert stat == pytest.approx(mmd2(a, b)) and p_same > 0.05
    _, p_shifted = mmd2_permutation_test(a, b + 1.0, n_permutations=99, random_state=0)
    assert p_shifted == pytest.approx(1 / 100)


def test_paired_latent_mse(fitted_vae, images):
    same = paired_latent_mse(fitted_vae, images[:10], images[:10])
    np.testing.assert_array_equal(same, np.zeros(10))
    shifted = paired_latent_mse(fitted_vae, images[:10], images[10:20])
    z_a, z_b = fitted_vae.transform(images[:10]), fitted_vae.transform(images[10:20])
    np.testing.assert_allclose(shifted, ((z_a - z_b) ** 2).mean(axis=1), rtol=1e-6)
    assert shifted.shape == (10,) and (shifted > 0).all()
    with pytest.raises(ValueError, match="X_source has 10 galaxies but X_target has 9"):
        paired_latent_mse(fitted_vae, images[:10], images[:9])


def test_paired_estimator_is_unbiased_for_paired_samples():
    # t_i is s_i seen again (shifted by delta, a little noise): dependent pairs.
    # Linear kernel: E[MMD^2] = |delta|^2. The all-pairs cross term counts each
    # galaxy against itself and is biased low by 2 tr(Sigma) / m = 0.8 here.
    rng = np.random.default_rng(2)
    delta = np.array([0.5, 0.0])
    paired, independent = [], []
    for _ in range(3000):
        s = rng.normal(size=(5, 2))
        t = s + delta + 0.1 * rng.normal(size=(5, 2))
        paired.append(mmd2(s, t, kernel="linear", paired=True))
        independent.append(mmd2(s, t, kernel="linear"))
    assert np.mean(paired) == pytest.approx(0.25, abs=0.03)
    assert np.mean(independent) == pytest.approx(0.25 - 0.8, abs=0.05)
    with pytest.raises(ValueError, match="as many rows on each side"):
        mmd2(s, t[:4], paired=True)


@pytest.mark.slow
def test_domain_auc_reads_how_separable_two_surveys_are():
    from skgalvae.metrics import domain_auc

    rng = np.random.default_rng(0)
    Z = rng.normal(size=(300, 4))
    assert 0.4 < domain_auc(Z, rng.normal(size=(200, 4))) < 0.6
    assert domain_auc(Z, rng.normal(size=(200, 4)) + [2, 0, 0, 0]) > 0.85
    # A shape difference with equal means: non-linear by default.
    assert domain_auc(Z, rng.normal(size=(300, 4)) * [3, 1, 1, 1]) > 0.7
    # Paired views of the same galaxies stay in one fold: a naive split reads
    # near-copies as "the other survey" and gives far less than 0.5.
    near = Z + 0.05 * rng.normal(size=Z.shape)
    assert domain_auc(Z, near) < 0.35
    assert 0.4 < domain_auc(Z, near, paired=True) < 0.6
    with pytest.raises(ValueError, match="at least cv=5 rows per survey; Z_target"):
        domain_auc(Z, Z[:3])
    with pytest.raises(ValueError, match="Z_source has 4 columns but Z_target has 3"):
        domain_auc(Z, Z[:, :3])
