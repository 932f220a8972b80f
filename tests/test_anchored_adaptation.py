"""Anchored and cluster-wise domain adaptation: a source that cannot move."""

import io

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator

from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae.datasets import make_survey_pairs
from skgalvae.nn import DomainAdaptationLoss, DomainAdaptedVAEModule, cluster_mmd
from skgalvae.nn.adaptation import mmd2, nearest_centres
from skgalvae.preprocessing import MTFStretch

SMALL = dict(
    n_latent=4, architecture="xu2023", hidden_dims=(16, 32), max_epochs=2, batch_size=16
)


@pytest.fixture(scope="module")
def surveys():
    """64 DECaLS galaxies and 48 other galaxies seen by BASS+MzLS (unpaired)."""
    decals, _ = make_survey_pairs(64, random_state=0)
    _, bass = make_survey_pairs(48, random_state=1)
    stretch = MTFStretch()
    return stretch.fit_transform(decals.images), stretch.fit_transform(bass.images)


@pytest.fixture(scope="module")
def base_vae(surveys):
    return VAETransformer(**SMALL, random_state=0).fit(surveys[0])


def anchored(base_vae, **params):
    return DomainAdaptedVAETransformer(
        **{**SMALL, "random_state": 0, "init": FrozenEstimator(base_vae), **params}
    )


@pytest.fixture(scope="module")
def source_anchored(surveys, base_vae):
    X, X_target = surveys
    return anchored(base_vae, anchor="source").fit(X, X_target=X_target)


def _state(module, prefix):
    return {
        k: v.clone() for k, v in module.state_dict().items() if k.startswith(prefix)
    }


# ------------------------------------------------------------------ anchoring
def test_source_latents_are_exactly_the_initial_models(source_anchored, surveys):
    X, X_target = surveys
    base = source_anchored.init.estimator
    np.testing.assert_array_equal(
        source_anchored.transform(X, domain="source"), base.transform(X)
    )
    # The target survey's own encoder moved away from the initial one.
    Z_target = source_anchored.transform(X_target, domain="target")
    assert np.abs(Z_target - base.transform(X_target)).mean() > 1e-3
    # Source reconstructions are the initial model's too.
    np.testing.assert_allclose(
        source_anchored.reconstruct(X[:8], domain="source"),
        base.reconstruct(X[:8]),
        atol=1e-6,
    )


def test_frozen_parts_hold_their_weights(source_anchored):
    module = source_anchored.net_.module_
    base = source_anchored.init.estimator.net_.module_
    for prefix in ("encoder.", "decoder."):
        for key, value in _state(base, prefix).items():
            torch.testing.assert_close(module.state_dict()[key], value)
    assert not any(p.requires_grad for p in module.encoder.parameters())
    assert all(p.requires_grad for p in module.domain_encoders.parameters())
    assert all(p.requires_grad for p in module.domain_decoders[0].parameters())
    # The frozen side stays in eval mode while the rest trains.
    module.train()
    assert not module.encoder.training and not module.decoder.training
    assert module.domain_encoders.training
    module.eval()


def test_rows_go_through_their_surveys_encoder(source_anchored, surveys):
    X, X_target = surveys
    both = np.concatenate([X[:10], X_target[:6]])
    labels = np.r_[np.ones(10, int), -np.ones(6, int)]
    order = np.random.default_rng(0).permutation(16)
    routed = source_anchored.transform(both[order], sample_domain=labels[order])
    expected = np.concatenate(
        [
            source_anchored.transform(X[:10], domain="source"),
            source_anchored.transform(X_target[:6], domain=-1),
        ]
    )[order]
    np.testing.assert_allclose(routed, expected, atol=1e-6)
    sigma = source_anchored.transform_std(X_target[:6], domain="target")
    assert sigma.shape == (6, 4) and (sigma > 0).all()


def test_encoding_without_a_survey_is_refused(source_anchored, surveys):
    X, _ = surveys
    with pytest.raises(ValueError, match="anchor='source'.*sample_domain=.*domain="):
        source_anchored.transform(X)
    with pytest.raises(ValueError, match="domain must be 'source', 'target'"):
        source_anchored.transform(X, domain=7)
    with pytest.raises(ValueError, match=r"sample_domain\[0\] is 3"):
        source_anchored.transform(X[:2], sample_domain=[3, 1])


def test_decoder_anchor_freezes_every_decoder(surveys, base_vae):
    X, X_target = surveys
    da = anchored(base_vae, anchor="decoder", max_epochs=1).fit(X, X_target=X_target)
    module = da.net_.module_
    source_decoder = _state(base_vae.net_.module_, "decoder.")
    for key, value in source_decoder.items():
        torch.testing.assert_close(
            module.state_dict()["domain_decoders.0." + key[len("decoder.") :]], value
        )
    assert not any(p.requires_grad for p in module.domain_decoders[0].parameters())
    assert all(p.requires_grad for p in module.domain_encoders.parameters())
    Z = da.transform(X_target, domain="target")
    assert not np.allclose(Z, base_vae.transform(X_target))


def test_fit_transform_encodes_the_source_with_its_encoder(surveys, base_vae):
    X, X_target = surveys
    da = anchored(base_vae, anchor="source", max_epochs=1)
    np.testing.assert_array_equal(
        da.fit_transform(X, X_target=X_target), base_vae.transform(X)
    )


def _relative_shift(moved, fixed):
    """Mean squared distance between two encodings over the latent spread."""
    spread = np.square(fixed - fixed.mean(axis=0)).sum(axis=1).mean()
    return float(np.square(moved - fixed).sum(axis=1).mean() / spread)


def test_latent_anchor_shares_one_encoder_and_holds_the_source(surveys, base_vae):
    X, X_target = surveys
    held = anchored(base_vae, anchor="latents", anchor_weight=10.0, max_epochs=1)
    held.fit(X, X_target=X_target)
    module = held.net_.module_
    # The frozen copy and the source decoder are init's; the shared encoder trains.
    for part in ("encoder.", "decoder."):
        frozen = "anchor_encoder." if part == "encoder." else part
        for key, value in _state(base_vae.net_.module_, part).items():
            torch.testing.assert_close(
                module.state_dict()[frozen + key[len(part) :]], value
            )
    assert not any(p.requires_grad for p in module.anchor_encoder.parameters())
    assert all(p.requires_grad for p in module.encoder.parameters())
    assert len(module.domain_encoders) == 0
    # One encoder: rows of any survey encode without a survey label.
    Z_target = held.transform(X_target)
    np.testing.assert_array_equal(Z_target, held.transform(X_target, domain="target"))
    assert held.history_[-1]["train_anchor"] >= 0
    # The penalty is what holds the source: without it the latents move more.
    free = anchored(base_vae, anchor="latents", anchor_weight=0.0, max_epochs=1)
    free.fit(X, X_target=X_target)
    assert "train_anchor" not in free.history_[-1]
    source = base_vae.transform(X)
    shift_held = _relative_shift(held.transform(X), source)
    shift_free = _relative_shift(free.transform(X), source)
    assert shift_held < shift_free
    buffer = io.BytesIO()
    joblib.dump(held, buffer)
    buffer.seek(0)
    np.testing.assert_allclose(
        joblib.load(buffer).transform(X_target), Z_target, atol=1e-6
    )


def test_anchor_needs_an_initial_model(surveys):
    X, X_target = surveys
    for params in (
        {"anchor": "source"},
        {"anchor": "latents"},
        {"adaptation": "cluster_mmd"},
    ):
        da = DomainAdaptedVAETransformer(**SMALL, **params)
        with pytest.raises(ValueError, match="init=FrozenEstimator"):
            da.fit(X, X_target=X_target)


def test_pickle_and_clone_keep_the_anchor(source_anchored, surveys):
    _, X_target = surveys
    buffer = io.BytesIO()
    joblib.dump(source_anchored, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    np.testing.assert_allclose(
        loaded.transform(X_target, domain="target"),
        source_anchored.transform(X_target, domain="target"),
        atol=1e-6,
    )
    # A changed parameter does not change how the fitted model is rebuilt.
    loaded.set_params(anchor=None)
    buffer.seek(0)
    assert joblib.load(buffer).anchor_ == "source"
    assert clone(source_anchored).get_params()["anchor"] == "source"


# --------------------------------------------------------------- cluster MMD
def test_cluster_mmd_fit_keeps_its_clusters(surveys, base_vae):
    X, X_target = surveys
    da = anchored(base_vae, anchor="source", adaptation="cluster_mmd", n_clusters=3)
    da.fit(X, X_target=X_target)
    assert da.cluster_centres_.shape == (3, 4)
    assert np.isfinite(da.history_[-1, "train_cluster_mmd"])
    criterion = da.net_.criterion_
    np.testing.assert_allclose(criterion.cluster_centres.numpy(), da.cluster_centres_)
    with pytest.raises(ValueError, match="n_clusters=80 clusters.*64 sample"):
        anchored(base_vae, adaptation="cluster_mmd", n_clusters=80).fit(
            X, X_target=X_target
        )


def _two_blobs(n_first, n_second, seed):
    rng = np.random.default_rng(seed)
    rows = np.concatenate(
        [rng.normal(0, 1, (n_first, 3)), rng.normal(12, 1, (n_second, 3))]
    )
    return torch.as_tensor(rows, dtype=torch.float32)


def test_cluster_mmd_ignores_the_mix_of_kinds():
    centres = torch.tensor([[0.0, 0, 0], [12.0, 12, 12]])
    source = _two_blobs(90, 10, 0)  # mostly of the first kind
    target = _two_blobs(10, 90, 1)  # mostly of the second
    marginal = float(mmd2(source, target))
    within = float(cluster_mmd(source, target, centres))
    assert marginal > 0.3
    assert abs(within) < 0.1 * marginal
    # A shift within the clusters is seen.
    shifted = float(cluster_mmd(source, target + 3.0, centres))
    assert shifted > 5 * abs(within)
    labels = nearest_centres(target, centres)
    assert labels.tolist() == [0] * 10 + [1] * 90


def test_cluster_mmd_gradient_and_empty_clusters():
    centres = torch.tensor([[0.0, 0, 0], [12.0, 12, 12]])
    source = _two_blobs(20, 0, 0)
    target = _two_blobs(0, 20, 1).requires_grad_()
    # No cluster holds rows of both: zero, with a zero gradient.
    value = cluster_mmd(source, target, centres)
    value.backward()
    assert float(value.detach()) == 0.0
    assert torch.count_nonzero(target.grad) == 0
    target = (_two_blobs(20, 0, 1) + 1.0).requires_grad_()
    cluster_mmd(source, target, centres).backward()
    assert torch.count_nonzero(target.grad) > 0
    with pytest.raises(ValueError, match=r"centres of shape \(k, 3\)"):
        cluster_mmd(source, target, torch.zeros(2, 4))


def test_cluster_loss_needs_centres():
    with pytest.raises(ValueError, match="needs cluster_centres"):
        DomainAdaptationLoss(adaptation="cluster_mmd")


def test_module_refuses_an_unknown_anchor():
    with pytest.raises(ValueError, match="anchor must be one of"):
        DomainAdaptedVAEModule((1, 16, 16), 2, (8,), anchor="target")


# ------------------------------------------------------------------ defaults
def test_default_from_a_fitted_vae_is_anchored_cluster_mmd(surveys, base_vae):
    X, X_target = surveys
    one_epoch = {**SMALL, "max_epochs": 1, "random_state": 0}
    da = DomainAdaptedVAETransformer(**one_epoch, init=FrozenEstimator(base_vae))
    da.fit(X, X_target=X_target)
    assert (da.anchor_, da.adaptation_) == ("source", "cluster_mmd")
    assert da.get_params()["anchor"] == "auto"
    assert np.isfinite(da.history_[-1, "train_cluster_mmd"])
    np.testing.assert_array_equal(
        da.transform(X, domain="source"), base_vae.transform(X)
    )
    # Without a fitted VAE: one shared encoder and the study's MMD.
    scratch = DomainAdaptedVAETransformer(**one_epoch)
    scratch.fit(X, X_target=X_target)
    assert (scratch.anchor_, scratch.adaptation_) == (None, "mmd")
    assert scratch.transform(X_target).shape == (48, 4)


def test_paired_latent_mse_encodes_each_survey_with_its_encoder(
    source_anchored, surveys
):
    from skgalvae.metrics import paired_latent_mse

    X, X_target = surveys
    mse = paired_latent_mse(source_anchored, X[:48], X_target)
    Z_s = source_anchored.transform(X[:48], domain="source")
    Z_t = source_anchored.transform(X_target, domain="target")
    np.testing.assert_allclose(mse, ((Z_s - Z_t) ** 2).mean(axis=1), rtol=1e-5)


def test_a_distance_added_to_the_registry_is_usable_by_name(surveys, base_vae):
    from skgalvae.nn.adaptation import ADAPTATIONS, cluster_mmd

    seen = []

    def mean_gap(source, target, paired=False):  # options it does not name: none
        seen.append(paired)
        return (source.mean(0) - target.mean(0)).square().sum()

    def centred_gap(source, target, centres):  # takes the source clusters
        seen.append(tuple(centres.shape))
        return cluster_mmd(source, target, centres)

    ADAPTATIONS.update(mean_gap=mean_gap, centred_gap=centred_gap)
    X, X_target = surveys
    try:
        da = anchored(base_vae, adaptation="mean_gap", max_epochs=1)
        da.fit(X, X_target=X_target)
        assert da.adaptation_ == "mean_gap" and seen and set(seen) == {False}
        assert da.cluster_centres_ is None
        seen.clear()
        da = anchored(base_vae, adaptation="centred_gap", n_clusters=3, max_epochs=1)
        da.fit(X, X_target=X_target)
        assert da.cluster_centres_.shape == (3, SMALL["n_latent"])
        assert set(seen) == {(3, SMALL["n_latent"])}
    finally:
        del ADAPTATIONS["mean_gap"], ADAPTATIONS["centred_gap"]
    with pytest.raises(ValueError, match="'adaptation' parameter"):
        anchored(base_vae, adaptation="mean_gap").fit(X, X_target=X_target)
