"""DomainAdaptedVAETransformer: fitting, inference, input errors and pickling."""

import io

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator

from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae.datasets import make_survey_pairs
from skgalvae.metrics import paired_latent_mse
from skgalvae.preprocessing import MTFStretch

SMALL = dict(
    n_latent=4, architecture="xu2023", hidden_dims=(16, 32), max_epochs=2, batch_size=16
)


def small_da(**params):
    # The shared encoder of the study; anchoring is tested on its own.
    return DomainAdaptedVAETransformer(
        **{**SMALL, "random_state": 0, "anchor": None, **params}
    )


@pytest.fixture(scope="module")
def surveys():
    """The same 96 galaxies in DECaLS and BASS+MzLS, stretched to unit range."""
    decals, bass = make_survey_pairs(96, random_state=0)
    stretch = MTFStretch()
    return stretch.fit_transform(decals.images), stretch.fit_transform(bass.images)


@pytest.fixture(scope="module")
def base_vae(surveys):
    return VAETransformer(**SMALL, random_state=0).fit(surveys[0])


@pytest.fixture(scope="module")
def adapted(surveys, base_vae):
    X, X_target = surveys
    return small_da(paired=True, init=base_vae, max_epochs=3).fit(X, X_target=X_target)


def _weights(estimator):
    return {k: v.clone() for k, v in estimator.net_.module_.state_dict().items()}


def test_fine_tuning_leaves_the_base_vae_alone(surveys, base_vae):
    X, X_target = surveys
    before = _weights(base_vae)
    latents = base_vae.transform(X)
    da = small_da(paired=True, init=base_vae).fit(X, X_target=X_target)
    for key, value in _weights(base_vae).items():
        torch.testing.assert_close(value, before[key])
    np.testing.assert_array_equal(base_vae.transform(X), latents)
    # The adapted encoder did move, and both decoders started as the base's.
    assert not np.allclose(da.transform(X), latents)
    assert da.pixel_scale_ == base_vae.pixel_scale_
    assert da.output_activation_ == base_vae.output_activation_


def test_history_records_every_term(adapted):
    row = adapted.history_[-1]
    for key in (
        "train_loss", "train_reconstruction", "train_kl",
        "train_reconstruction_target", "train_kl_target", "train_mmd", "train_ssim",
        "train_adaptation_weight", "train_grad_ratio",
    ):  # fmt: skip
        assert np.isfinite(row[key]), key
    # The total is the two ELBOs plus the weighted MMD^2, batch by batch; the
    # weight is the scale-free weight's value in the study's units.
    for batch in row["batches"]:
        total = (
            batch["train_reconstruction"] + batch["train_kl"]
            + batch["train_reconstruction_target"] + batch["train_kl_target"]
            + batch["train_adaptation_weight"] * batch["train_mmd"]
        )  # fmt: skip
        assert batch["train_loss"] == pytest.approx(total, rel=1e-5, abs=1e-3)
    assert adapted.adaptation_weight_ == pytest.approx(batch["train_adaptation_weight"])
    assert adapted.adaptation_weight_ > 1
    assert adapted.n_source_ == adapted.n_target_ == 96


def test_two_decoders_and_one_encoder(adapted, surveys):
    X, X_target = surveys
    Z = adapted.transform(X_target)
    assert Z.shape == (96, 4)
    as_source = adapted.inverse_transform(Z)
    as_target = adapted.inverse_transform(Z, domain="target")
    assert as_source.shape == as_target.shape == X_target.shape
    assert not np.allclose(as_source, as_target)  # the decoders were fine-tuned
    np.testing.assert_allclose(
        adapted.reconstruct(X_target, domain="target"), as_target, atol=1e-5
    )
    target_ssim = adapted.score_samples_ssim(X_target, domain="target")
    assert target_ssim.shape == (96,) and np.all(target_ssim <= 1)
    assert adapted.sample(3, random_state=0, domain="target").shape == (3, 3, 64, 64)
    with pytest.raises(
        ValueError, match=r"domain must be 'source', 'target' or one of.*\[1, -1\]"
    ):
        adapted.inverse_transform(Z, domain="bass")


def test_score_uses_each_rows_decoder(adapted, surveys):
    X, X_target = surveys
    both = np.concatenate([X, X_target])
    domain = np.r_[np.ones(96), -np.ones(96)].astype(int)
    expected = np.mean(
        np.r_[
            adapted.score_samples_ssim(X),
            adapted.score_samples_ssim(X_target, domain="target"),
        ]
    )
    assert adapted.score(both, sample_domain=domain) == pytest.approx(expected, 1e-5)
    # Without labels every row is a source row, as for VAETransformer.
    assert adapted.score(both) == pytest.approx(
        np.mean(adapted.score_samples_ssim(both)), 1e-5
    )


@pytest.mark.slow
def test_sample_domain_and_x_target_give_the_same_fit(surveys):
    X, X_target = surveys
    separate = small_da().fit(X, X_target=X_target)
    domain = np.r_[np.full(96, 2), np.full(96, -5)]
    together = small_da().fit(np.concatenate([X, X_target]), sample_domain=domain)
    assert (together.n_source_, together.n_target_) == (96, 96)
    np.testing.assert_array_equal(together.transform(X), separate.transform(X))
    # Interleaved rows are gathered per domain, keeping their order.
    order = np.random.default_rng(0).permutation(192)
    both = np.concatenate([X, X_target])[order]
    shuffled = small_da().fit(both, sample_domain=domain[order])
    assert shuffled.n_source_ == 96


def test_unpaired_target_of_another_size(surveys):
    X, X_target = surveys
    da = small_da(max_epochs=1).fit(X, X_target=X_target[:37])
    assert (da.n_source_, da.n_target_) == (96, 37)
    assert np.isfinite(da.history_[-1, "train_mmd"])


@pytest.mark.slow
def test_adaptation_pulls_paired_latents_together(surveys, base_vae):
    """The MMD and the paired term align the surveys' latents, relative to spread."""
    X, X_target = surveys

    def relative_shift(encoder):
        spread = encoder.transform(X).var(axis=0).mean()
        return np.median(paired_latent_mse(encoder, X, X_target)) / spread

    before = relative_shift(base_vae)
    da = small_da(paired=True, init=base_vae, mmd_weight=3.0, max_epochs=4)
    assert relative_shift(da.fit(X, X_target=X_target)) < before
    consistent = small_da(paired=True, init=base_vae, paired_weight=1.0, max_epochs=4)
    assert relative_shift(consistent.fit(X, X_target=X_target)) < before / 2
    assert (
        consistent.history_[-1, "train_paired"] < consistent.history_[0, "train_paired"]
    )


def test_a_last_batch_of_one_joins_the_batch_before(surveys):
    X, X_target = surveys
    da = small_da(max_epochs=1).fit(X[:33], X_target=X_target[:33])  # 16 + 17
    assert [b["train_batch_size"] for b in da.history_[-1, "batches"]] == [16, 17]


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "got neither"),
        ({"X_target": "same", "sample_domain": "labels"}, "not both"),
        ({"sample_domain": np.ones(20)}, "marks no target rows"),
        ({"sample_domain": -np.ones(20)}, "marks no source rows"),
        ({"sample_domain": np.r_[np.ones(10), -np.ones(9)]}, "one label per row"),
        ({"sample_domain": np.r_[0, np.ones(9), -np.ones(10)]}, r"domain\[0\] is 0"),
        ({"sample_domain": np.r_[0.5, np.ones(9), -np.ones(10)]}, "must hold integers"),
        ({"sample_domain": np.r_[1, 2, np.ones(8), -np.ones(10)]}, "survey 2 has 1"),
        ({"sample_domain": np.array(["s"] * 10 + ["t"] * 10)}, "must hold integers"),
        ({"sample_domain": np.r_[np.ones(19), -1]}, "at least 2 samples.*-1 has 1"),
    ],
)  # fmt: skip
def test_domain_errors(features, kwargs, match):
    X = features[:20]
    kwargs = {
        key: {"same": X, "labels": np.r_[np.ones(10), -np.ones(10)]}.get(value, value)
        if isinstance(value, str)
        else value
        for key, value in kwargs.items()
    }
    with pytest.raises(ValueError, match=match):
        small_da(hidden_dims=(8,)).fit(X, **kwargs)


def test_target_must_look_like_the_source(surveys, features):
    X, X_target = surveys
    with pytest.raises(ValueError, match="X_target has 1 band\\(s\\), but X has 3"):
        small_da().fit(X, X_target=X_target[:, :1])
    with pytest.raises(
        ValueError, match="X_target holds 32x32 images, but X has 64x64"
    ):
        small_da().fit(X, X_target=X_target[:, :, :32, :32])
    with pytest.raises(ValueError, match="X_target has 5 features, but X has 6"):
        small_da(hidden_dims=(8,)).fit(features, X_target=features[:, :5])
    with pytest.raises(ValueError, match="96 of survey 1, 50 of survey -1"):
        small_da(paired=True).fit(X, X_target=X_target[:50])
    with pytest.raises(ValueError, match="X_target contains 1 NaN"):
        bad = X_target.copy()
        bad[3, 0, 5, 5] = np.nan
        small_da().fit(X, X_target=bad)


def test_init_errors(surveys, base_vae, features):
    X, X_target = surveys
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        small_da(init=VAETransformer()).fit(X, X_target=X_target)
    with pytest.raises(ValueError, match="init was fitted with n_latent=4"):
        small_da(init=base_vae, n_latent=8).fit(X, X_target=X_target)
    with pytest.raises(ValueError, match="init was fitted on samples of shape"):
        small_da(init=base_vae).fit(
            X[:, :, :32, :32], X_target=X_target[:, :, :32, :32]
        )
    with pytest.raises(ValueError, match="pixel_scale=255.0, but init"):
        small_da(init=base_vae, pixel_scale=255.0).fit(X, X_target=X_target)
    # Any estimator that is not a skgalvae VAE is refused by parameter validation.
    with pytest.raises(ValueError, match="'init' parameter"):
        small_da(init=MTFStretch()).fit(X, X_target=X_target)


def test_relu_init_refuses_negative_targets(surveys, base_vae):
    X, X_target = surveys
    assert base_vae.output_activation_ == "relu"
    with pytest.raises(ValueError, match="has negative values \\(min -0.5"):
        small_da(init=base_vae).fit(X, X_target=X_target - 0.5)


def test_batch_size_one_is_refused(features):
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        small_da(batch_size=1).fit(features, X_target=features)


# ------------------------------------------------------------------- pickling
def test_pickle_round_trip_keeps_both_decoders(adapted, surveys):
    X, X_target = surveys
    buffer = io.BytesIO()
    joblib.dump(adapted, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    Z = adapted.transform(X_target)
    np.testing.assert_allclose(loaded.transform(X_target), Z, atol=1e-6)
    np.testing.assert_allclose(
        loaded.inverse_transform(Z, domain="target"),
        adapted.inverse_transform(Z, domain="target"),
        atol=1e-6,
    )
    assert loaded.history_[-1, "train_mmd"] == adapted.history_[-1, "train_mmd"]


def test_frozen_init_survives_clone(surveys, base_vae):
    from sklearn.base import clone

    X, X_target = surveys
    da = clone(small_da(init=FrozenEstimator(base_vae), max_epochs=1))
    da.fit(X, X_target=X_target)
    assert np.isfinite(da.history_[-1, "train_loss"])
    # A bare fitted VAE is cloned into an unfitted one: the error says what to do.
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        clone(small_da(init=base_vae)).fit(X, X_target=X_target)


# ------------------------------------------------------------ several surveys
@pytest.fixture(scope="module")
def three_surveys(surveys):
    """Two source surveys (1, 2) and one target (-1), rows interleaved."""
    X, X_target = surveys
    second_source = np.ascontiguousarray(X[:, :, ::-1])  # another "survey"
    images = np.concatenate([X[:40], X_target[:40], second_source[:40]])
    labels = np.r_[np.full(40, 1), np.full(40, -1), np.full(40, 2)]
    order = np.random.default_rng(0).permutation(len(labels))
    return images[order], labels[order]


@pytest.fixture(scope="module")
def adapted_three(three_surveys):
    images, labels = three_surveys
    return small_da(max_epochs=2).fit(images, sample_domain=labels)


def test_several_surveys_get_one_decoder_each(adapted_three, three_surveys):
    images, labels = three_surveys
    da = adapted_three
    np.testing.assert_array_equal(da.domains_, [1, -1, 2])
    assert (da.n_source_, da.n_target_) == (80, 40)
    assert len(da.net_.module_.decoders) == 3
    Z = da.transform(images, sample_domain=labels)
    np.testing.assert_array_equal(Z, da.transform(images))  # one shared encoder
    # Per-row decoders equal each survey's decoder applied to its own rows.
    per_row = da.inverse_transform(Z, sample_domain=labels)
    for label in (1, -1, 2):
        rows = labels == label
        np.testing.assert_allclose(
            per_row[rows], da.inverse_transform(Z[rows], domain=int(label)), atol=1e-6
        )
    assert not np.allclose(
        da.inverse_transform(Z[:3], domain=2), da.inverse_transform(Z[:3], domain=1)
    )
    np.testing.assert_allclose(
        da.reconstruct(images, sample_domain=labels), per_row, atol=1e-5
    )
    np.testing.assert_allclose(
        da.inverse_transform(Z[:3], domain="target"),
        da.inverse_transform(Z[:3], domain=-1),
    )
    assert 0 < da.score(images, sample_domain=labels) <= 1
    assert np.isfinite(da.history_[-1, "train_mmd"])


def test_unknown_survey_labels_are_named(adapted_three, three_surveys):
    images, labels = three_surveys
    Z = adapted_three.transform(images[:4])
    with pytest.raises(ValueError, match=r"labels \[1, -1, 2\].*got -3"):
        adapted_three.inverse_transform(Z, domain=-3)
    with pytest.raises(ValueError, match=r"sample_domain\[1\] is -3, which is not"):
        adapted_three.inverse_transform(Z, sample_domain=[1, -3, 1, 1])
    with pytest.raises(ValueError, match="one label per row of X \\(4 rows\\)"):
        adapted_three.transform(images[:4], sample_domain=[1, -1])
    # A target survey seen only now is scored with the first target's decoder.
    score = adapted_three.score(images[:8], sample_domain=np.full(8, -5))
    assert score == pytest.approx(
        adapted_three.score(images[:8], sample_domain=np.full(8, -1))
    )


def test_coral_and_fixed_weighting_fit(surveys, base_vae):
    X, X_target = surveys
    coral = small_da(adaptation="coral", init=base_vae).fit(X, X_target=X_target)
    assert np.isfinite(coral.history_[-1, "train_coral"])
    assert "train_mmd" not in coral.history_[-1]
    fixed = small_da(weighting="fixed", mmd_weight=0.5, init=base_vae)
    fixed.fit(X, X_target=X_target)
    assert fixed.adaptation_weight_ == 0.5
    # The study's weight pulls the encoder far less than reconstruction.
    assert fixed.history_[-1, "train_grad_ratio"] < 0.1
    with pytest.raises(ValueError, match="paired_weight=1.0 needs paired=True"):
        small_da(paired_weight=1.0).fit(X, X_target=X_target)
