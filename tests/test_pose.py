"""Pose-free latents (invariance="dihedral") and survey-like consistency views."""

import numpy as np
import pytest
import torch

from skgalvae import DomainAdaptedVAETransformer, GMMVAETransformer, VAETransformer
from skgalvae.nn import SURVEY_VIEW_DEFAULTS, ELBOLoss, gaussian_kl, kl_divergence
from skgalvae.nn.augment import check_view_params, survey_view
from skgalvae.nn.pose import (
    N_POSES,
    POSE_NAMES,
    align_to_input,
    apply_pose,
    best_pose,
    inverse_pose,
    match_pose,
)


def _asymmetric(n=6, side=8, seed=0):
    return torch.rand(n, 3, side, side, generator=torch.Generator().manual_seed(seed))


def test_the_eight_poses_are_distinct_and_undone_by_their_inverses():
    x = _asymmetric()
    views = [apply_pose(x, p) for p in range(N_POSES)]
    assert len({tuple(v[0].flatten().tolist()) for v in views}) == N_POSES
    for pose, view in enumerate(views):
        torch.testing.assert_close(apply_pose(view, inverse_pose(pose)), x)
    assert len(POSE_NAMES) == N_POSES and POSE_NAMES[5].startswith("mirror")
    # Pose 1 is a quarter turn anticlockwise: the top-right corner goes top-left.
    torch.testing.assert_close(views[1][..., 0, 0], x[..., 0, -1])


@pytest.mark.parametrize("metric", ["mse", "mae"])
def test_best_pose_finds_the_pose_each_target_was_drawn_in(metric):
    x = _asymmetric()
    poses = torch.tensor([0, 1, 2, 3, 4, 5])
    drawn = torch.stack(
        [apply_pose(x[i : i + 1], int(p))[0] for i, p in enumerate(poses)]
    )
    noisy = drawn + 0.01 * torch.randn(
        drawn.shape, generator=torch.Generator().manual_seed(1)
    )
    aligned, found = best_pose(noisy, x, metric)
    assert torch.equal(found, poses)
    assert torch.equal(match_pose(noisy, x, metric), poses)
    torch.testing.assert_close(aligned, drawn)
    back, found_again = align_to_input(noisy, x, metric)
    assert torch.equal(found_again, poses)
    assert float((back - x).abs().max()) < 0.05


def test_pose_free_loss_ignores_how_the_target_lies():
    x = _asymmetric(4, 8)
    x_hat = x + 0.05
    mu, logvar = torch.zeros(4, 2), torch.zeros(4, 2)
    plain = ELBOLoss("gaussian", n_bands=3)
    free = ELBOLoss("gaussian", n_bands=3, invariance="dihedral")
    turned = apply_pose(x, 6)
    same = free(x_hat, x, mu, logvar)["reconstruction"]
    torch.testing.assert_close(free(x_hat, turned, mu, logvar)["reconstruction"], same)
    # Without invariance the turned target costs more; with it, the matched
    # pose calibrates the noise as a plain loss on that pose would.
    assert plain(x_hat, turned, mu, logvar)["reconstruction"] > same + 1
    torch.testing.assert_close(plain(x_hat, x, mu, logvar)["reconstruction"], same)
    with pytest.raises(ValueError, match="invariance must be None or 'dihedral'"):
        ELBOLoss(invariance="rotation")


def test_gaussian_kl_matches_the_standard_normal_case_and_is_zero_on_itself():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    zeros = torch.zeros(5, 3)
    torch.testing.assert_close(
        gaussian_kl(mu, logvar, zeros, zeros), kl_divergence(mu, logvar)
    )
    torch.testing.assert_close(gaussian_kl(mu, logvar, mu, logvar), torch.zeros(5))
    assert bool((gaussian_kl(mu, logvar, mu + 1, logvar) > 0).all())


def test_survey_view_is_seeded_bounded_and_shards_like_one_process():
    x = 0.1 + 0.02 * _asymmetric(4, 32)
    view = survey_view(x, generator=torch.Generator().manual_seed(0))
    again = survey_view(x, generator=torch.Generator().manual_seed(0))
    other = survey_view(x, generator=torch.Generator().manual_seed(1))
    assert view.shape == x.shape and view.dtype == torch.float32
    assert not view.requires_grad
    torch.testing.assert_close(view, again)
    assert not torch.equal(view, other)
    # A view changes the pixels, but not the galaxy's brightness by much.
    assert 0 < float((view - x).abs().mean()) < 0.05
    torch.testing.assert_close(
        view.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=0.01, rtol=0
    )
    # Rows 2:4 of a data-parallel shard get the draws one process gives them.
    part = survey_view(
        x[2:], rows=(2, 4, 4), generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(part, view[2:], atol=1e-5, rtol=0)


def test_survey_view_without_changes_returns_the_images():
    x = _asymmetric(3, 16)
    view = survey_view(x, blur=0, noise=0, shift=0, scale=(1.0, 1.0))
    torch.testing.assert_close(view, x, atol=1e-5, rtol=0)
    torch.manual_seed(0)
    turned = survey_view(x, blur=0, noise=0, shift=0, scale=(1.0, 1.0), dihedral=True)
    # Each view is the image in one of its 8 poses.
    for image, view in zip(x, turned, strict=True):
        errors = [
            float((apply_pose(image[None], p)[0] - view).abs().max()) for p in range(8)
        ]
        assert min(errors) < 1e-5


def test_pose_free_vae_reconstructs_in_the_input_pose(images):
    vae = VAETransformer(
        n_latent=4,
        hidden_dims=(8,),
        max_epochs=1,
        batch_size=32,
        invariance="dihedral",
        random_state=0,
    ).fit(images)
    poses = vae.pose(images)
    assert poses.shape == (len(images),) and poses.dtype == np.int64
    assert set(np.unique(poses)) <= set(range(8))
    rec = vae.reconstruct(images)
    drawn = vae.inverse_transform(vae.transform(images))
    # reconstruct turns each drawing back: pose p of the image matches it.
    for i in range(5):
        image = torch.from_numpy(np.asarray(images[i : i + 1], np.float32))
        aligned = apply_pose(torch.from_numpy(rec[i : i + 1]), int(poses[i]))
        torch.testing.assert_close(aligned, torch.from_numpy(drawn[i : i + 1]))
        assert image.shape == aligned.shape
    plain_error = np.square(drawn - images).mean()
    aligned_error = np.square(rec - images).mean()
    assert aligned_error <= plain_error + 1e-9
    assert vae.score(images) > 0


@pytest.mark.slow
def test_consistency_term_is_trained_and_recorded(images):
    vae = VAETransformer(
        n_latent=4,
        max_epochs=2,
        batch_size=32,
        invariance="dihedral",
        consistency_weight=1.0,
        random_state=0,
    ).fit(images)
    consistency = vae.history_[:, "train_consistency"]
    assert len(consistency) == 2 and all(np.isfinite(consistency))
    assert all(c >= 0 for c in consistency)
    again = VAETransformer(**vae.get_params()).fit(images)
    np.testing.assert_array_equal(again.transform(images), vae.transform(images))
    plain = VAETransformer(n_latent=4, max_epochs=1, random_state=0).fit(images)
    assert "train_consistency" not in plain.history_[-1]


@pytest.mark.filterwarnings("ignore:GMMVAETransformer's mixture collapsed")
def test_mixture_vae_trains_pose_free_with_consistency(images):
    gmm = GMMVAETransformer(
        n_latent=4,
        n_components=3,
        hidden_dims=(8,),
        max_epochs=1,
        pretrain_epochs=1,
        batch_size=32,
        invariance="dihedral",
        consistency_weight=0.5,
        random_state=0,
    ).fit(images)
    assert "train_consistency" in gmm.history_[-1]
    assert gmm.pose(images[:4]).shape == (4,)


def test_pose_needs_an_image_model(features):
    vae = VAETransformer(n_latent=2, hidden_dims=(8,), max_epochs=1).fit(features)
    with pytest.raises(ValueError, match="fitted on feature vectors"):
        vae.pose(features)


def test_invariance_and_consistency_weight_are_validated(images):
    with pytest.raises(ValueError, match="invariance"):
        VAETransformer(invariance="rotation").fit(images)
    with pytest.raises(ValueError, match="consistency_weight"):
        VAETransformer(consistency_weight=-1.0).fit(images)


def test_view_ranges_are_checked_by_name(images):
    assert check_view_params(None) == {**SURVEY_VIEW_DEFAULTS, "scale": (0.9, 1.1)}
    assert check_view_params({"blur": 0})["blur"] == 0
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['psf'\]"):
        check_view_params({"psf": 1.0})
    with pytest.raises(ValueError, match=r"consistency_view\['noise'\] must be"):
        check_view_params({"noise": -1})
    with pytest.raises(ValueError, match="0 < low <= high"):
        check_view_params({"scale": (1.2, 0.8)})
    flips_only = {"blur": 0, "noise": 0, "shift": 0, "scale": (1, 1)}
    vae = VAETransformer(
        n_latent=2,
        max_epochs=1,
        invariance="dihedral",
        consistency_weight=1.0,
        consistency_view=flips_only,
        random_state=0,
    ).fit(images)
    assert vae.net_.consistency_view["scale"] == (1.0, 1.0)
    with pytest.raises(ValueError, match="unknown key"):
        vae.set_params(consistency_view={"rotate": 1}).fit(images)


def test_domain_adaptation_takes_invariance_but_not_the_consistency_term():
    params = DomainAdaptedVAETransformer().get_params()
    assert params["invariance"] is None
    assert "consistency_weight" not in params and "consistency_view" not in params
    assert "consistency_weight :" not in DomainAdaptedVAETransformer.__doc__
    assert "invariance :" in DomainAdaptedVAETransformer.__doc__


def test_fine_tuning_keeps_the_pose_free_setting_of_init(images):
    from sklearn.frozen import FrozenEstimator

    vae = VAETransformer(
        n_latent=2,
        hidden_dims=(8,),
        max_epochs=1,
        invariance="dihedral",
        random_state=0,
    ).fit(images)
    with pytest.raises(ValueError, match="invariance=None, but init was fitted"):
        DomainAdaptedVAETransformer(n_latent=2, init=FrozenEstimator(vae)).fit(
            images, X_target=images
        )
    adapted = DomainAdaptedVAETransformer(
        n_latent=2, max_epochs=1, invariance="dihedral", init=FrozenEstimator(vae)
    ).fit(images, X_target=images)
    assert adapted.reconstruct(images[:3]).shape == images[:3].shape
