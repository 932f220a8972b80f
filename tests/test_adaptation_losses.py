"""Adaptation losses and their scale-free weighting, in the torch layer."""

import math

import numpy as np
import pytest
import torch

from skgalvae.nn import (
    ADAPTATIONS,
    ArrayDataset,
    DomainAdaptationLoss,
    DomainAdaptedVAEModule,
    DomainBatchLoader,
    DomainDataset,
    coral,
    mmd2,
    paired_consistency,
)


def _sample(n=200, d=3, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------- pure functions
def test_coral_is_the_covariance_distance():
    s, t = _sample(seed=0), _sample(seed=1) @ torch.diag(torch.tensor([1.0, 2.0, 3.0]))
    cov_s, cov_t = np.cov(s.numpy().T), np.cov(t.numpy().T)
    expected = ((cov_s - cov_t) ** 2).sum()
    assert float(coral(s, t, normalize=False)) == pytest.approx(expected / 36, rel=1e-4)
    scale = ((cov_s**2).sum() + (cov_t**2).sum()) / 2
    assert float(coral(s, t)) == pytest.approx(expected / scale, rel=1e-4)
    # Same covariance, shifted mean: CORAL does not see it; the MMD does.
    assert float(coral(s, s + 5)) == pytest.approx(0.0, abs=1e-6)
    assert float(mmd2(s, s + 5)) > 0.5


@pytest.mark.parametrize("loss", [coral, paired_consistency])
def test_normalised_terms_do_not_reward_shrinking(loss):
    s, t = _sample(seed=0), _sample(seed=0) * 1.5 + 0.1 * _sample(seed=2)
    plain, normalised = loss(s, t, normalize=False), loss(s, t)
    assert float(loss(0.1 * s, 0.1 * t, normalize=False)) < 0.02 * float(plain)
    assert float(loss(0.1 * s, 0.1 * t)) == pytest.approx(float(normalised), rel=1e-4)


def test_paired_consistency_is_the_per_object_distance():
    s = _sample(10, 2)
    t = s + torch.tensor([[3.0, 4.0]])
    assert float(paired_consistency(s, t, normalize=False)) == pytest.approx(25.0)
    spread = 0.5 * sum(
        float((side - side.mean(0)).square().sum(1).mean()) for side in (s, t)
    )
    assert float(paired_consistency(s, t)) == pytest.approx(25.0 / spread, rel=1e-5)
    with pytest.raises(ValueError, match="row for row; got 10 and 9 rows"):
        paired_consistency(s, t[:9])
    with pytest.raises(ValueError, match="coral needs at least 2 samples"):
        coral(s[:1], t)
    assert set(ADAPTATIONS) == {"mmd", "coral", "cluster_mmd"}


# --------------------------------------------------------------- the criterion
def _module_and_batches(n_domains=2, seed=0):
    torch.manual_seed(seed)
    module = DomainAdaptedVAEModule(
        (6,), n_latent=3, hidden_dims=(8,), n_domains=n_domains
    )
    batches = [torch.randn(16, 6) + d for d in range(n_domains)]
    return module, batches


def _criterion_inputs(batches):
    names = ["x"] + [f"x_{d}" for d in range(1, len(batches))]
    return dict(zip(names, batches, strict=True))


def _gradient_norm(output, parameters):
    grads = torch.autograd.grad(
        output, parameters, retain_graph=True, allow_unused=True
    )
    return math.sqrt(sum(float(g.square().sum()) for g in grads if g is not None))


@pytest.mark.parametrize("adaptation", ["mmd", "coral"])
def test_balanced_weight_sets_the_gradient_ratio(adaptation):
    module, batches = _module_and_batches()
    shared = list(module.encoder.parameters())
    for weight in (0.5, 2.0):
        loss = DomainAdaptationLoss(mmd_weight=weight, adaptation=adaptation)
        loss.shared_parameters = shared
        inputs = _criterion_inputs(batches)
        terms = loss(module(**inputs), **inputs)
        # Measured independently: the adaptation term's gradient on the encoder
        # is `weight` times the ELBOs', by construction of the weight.
        a = loss.adaptation_weights[adaptation]
        vae_loss = terms["loss"] - a * terms[adaptation]
        ratio = _gradient_norm(a * terms[adaptation], shared) / _gradient_norm(
            vae_loss, shared
        )
        assert ratio == pytest.approx(weight, rel=1e-3)
        assert float(terms["adaptation_weight"]) == pytest.approx(a)


def _split(y_pred):
    return [y_pred[3 * d : 3 * d + 3] for d in range(len(y_pred) // 3)]


def test_fixed_weight_is_the_raw_lambda_and_reports_the_ratio():
    module, batches = _module_and_batches()
    loss = DomainAdaptationLoss(mmd_weight=0.5, weighting="fixed")
    loss.shared_parameters = list(module.encoder.parameters())
    inputs = _criterion_inputs(batches)
    terms = loss(module(**inputs), **inputs)
    assert loss.adaptation_weights == {"mmd": 0.5}
    vae_loss = terms["loss"] - 0.5 * terms["mmd"]
    expected = _gradient_norm(0.5 * terms["mmd"], loss.shared_parameters) / (
        _gradient_norm(vae_loss, loss.shared_parameters)
    )
    assert float(terms["grad_ratio"]) == pytest.approx(expected, rel=1e-3)


def test_balanced_weights_are_held_after_calibration():
    module, batches = _module_and_batches()
    loss = DomainAdaptationLoss(
        mmd_weight=1.0, balance_every=2, calibration_batches=4, paired=True,
        paired_weight=0.5,
    )  # fmt: skip
    loss.shared_parameters = list(module.encoder.parameters())
    inputs = _criterion_inputs([batches[0], batches[0] + 0.1])
    history = []
    for _ in range(8):
        loss(module(**inputs), **inputs)
        history.append(dict(loss.adaptation_weights))
    assert set(history[0]) == {"mmd", "paired"}
    assert history[2] != history[0]  # measured again at batch 2 ...
    assert history[3] == history[4] == history[7]  # ... and held from batch 4
    # Evaluation measures nothing and changes nothing.
    loss.eval()
    with torch.no_grad():
        loss(module(**inputs), **inputs)
    assert loss.adaptation_weights == history[-1]


def test_paired_weight_needs_pairs_and_bad_options_are_named():
    with pytest.raises(ValueError, match="paired_weight > 0 needs paired=True"):
        DomainAdaptationLoss(paired_weight=1.0)
    with pytest.raises(ValueError, match="adaptation must be one of"):
        DomainAdaptationLoss(adaptation="wasserstein")
    with pytest.raises(ValueError, match="weighting must be 'balanced' or 'fixed'"):
        DomainAdaptationLoss(weighting="auto")


# -------------------------------------------------------------- several surveys
def test_three_surveys_one_encoder_three_decoders():
    module, batches = _module_and_batches(n_domains=3)
    inputs = _criterion_inputs(batches)
    out = module(**inputs)
    assert len(out) == 9 and [tuple(t.shape) for t in out[6:]] == [
        (16, 6), (16, 3), (16, 3),
    ]  # fmt: skip
    z = torch.zeros(2, 3)
    decoded = [module.decode(z, index) for index in range(3)]
    assert not torch.allclose(decoded[0], decoded[2])  # a decoder of its own
    torch.testing.assert_close(module.decode(z, "target"), decoded[1])
    loss = DomainAdaptationLoss(mmd_weight=0.5, weighting="fixed", n_domains=3)
    terms = loss(out, **inputs)
    mus = [out[1], out[4], out[7]]
    pairs = [mmd2(mus[i], mus[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    torch.testing.assert_close(terms["mmd"], torch.stack(pairs).mean())
    elbos = [
        elbo(*o[:1], x, *o[1:])["loss"]
        for elbo, x, o in zip(loss.elbos, batches, _split(out), strict=True)
    ]
    torch.testing.assert_close(terms["loss"], sum(elbos) + 0.5 * terms["mmd"])
    # A two-survey VAE state gives every decoder the same start.
    fresh = DomainAdaptedVAEModule((6,), n_latent=3, hidden_dims=(8,), n_domains=3)
    own = ("domain_decoders",)
    vae_state = {k: v for k, v in module.state_dict().items() if not k.startswith(own)}
    fresh.load_vae_state(vae_state)
    torch.testing.assert_close(fresh.decode(z, 2), fresh.decode(z, 0))


def test_three_survey_loader_and_shards():
    arrays = [np.full((40, 2), d, dtype=np.float32) + np.arange(40)[:, None]
              for d in (0, 1000, 2000)]  # fmt: skip
    dataset = DomainDataset(*(ArrayDataset(a) for a in arrays))
    torch.manual_seed(0)
    whole = list(DomainBatchLoader(dataset, batch_size=16, shuffle=True, paired=True))
    assert [sorted(batch) for batch, _ in whole] == [["x", "x_1", "x_2"]] * 3
    for batch, _ in whole:  # paired: the same rows of every survey
        torch.testing.assert_close(batch["x_1"] - 1000, batch["x"])
        torch.testing.assert_close(batch["x_2"] - 2000, batch["x"])
    # 40 = 16 + 16 + 8; each process keeps its half of every survey's batch.
    shards = []
    for rank in range(2):
        torch.manual_seed(0)
        loader = DomainBatchLoader(
            dataset, batch_size=16, shuffle=True, paired=True, shard=(rank, 2)
        )
        shards.append([(dict(b), loader.current_shard) for b, _ in loader])
    joined = [
        torch.cat([shards[0][i][0]["x_2"], shards[1][i][0]["x_2"]])
        for i in range(len(shards[0]))
    ]
    assert len(joined) == len(whole) == len(loader) == 3
    for mine, theirs in zip(joined, whole, strict=True):
        torch.testing.assert_close(mine, theirs[0]["x_2"])
    assert shards[1][0][1] == (8, 16, 16)
