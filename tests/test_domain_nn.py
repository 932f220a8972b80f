"""Torch pieces of domain adaptation: two-decoder module, loss, paired loader."""

import numpy as np
import pytest
import torch

from skgalvae.nn import (
    ArrayDataset,
    DomainAdaptationLoss,
    DomainAdaptedVAEModule,
    DomainBatchLoader,
    DomainDataset,
    ELBOLoss,
    VAEModule,
    mmd2,
)


@pytest.fixture
def vae():
    torch.manual_seed(0)
    return VAEModule((3, 64, 64), n_latent=4).eval()


def test_starts_from_a_vae_without_touching_it(vae):
    x = torch.rand(5, 3, 64, 64)
    reference = [p.detach().clone() for p in vae.parameters()]
    da = DomainAdaptedVAEModule((3, 64, 64), n_latent=4).eval()
    da.load_vae_state(vae.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(da(x)[0], vae(x)[0])  # one batch: a plain VAE
        mu, _ = da.encode(x)
        torch.testing.assert_close(da.decode(mu, "target"), da.decode(mu, "source"))
        for p in da.parameters():
            p.add_(1.0)  # fine-tuning the copy leaves the VAE alone
    for before, after in zip(reference, vae.parameters(), strict=True):
        torch.testing.assert_close(before, after)
    with pytest.raises(
        ValueError, match="domain must be 'source', 'target' or a survey index in 0..1"
    ):
        da.decode(mu, "bass")


def test_two_batches_give_both_sides():
    torch.manual_seed(1)
    da = DomainAdaptedVAEModule((3, 64, 64), n_latent=4)
    # A fresh target decoder is initialised on its own.
    first_source = next(da.decoder.parameters())
    first_target = next(da.domain_decoders[0].parameters())
    assert first_source.shape == first_target.shape
    assert not torch.equal(first_source, first_target)
    out = da(torch.rand(6, 3, 64, 64), x_1=torch.rand(4, 3, 64, 64))
    assert [tuple(t.shape) for t in out] == [
        (6, 3, 64, 64), (6, 4), (6, 4), (4, 3, 64, 64), (4, 4), (4, 4),
    ]  # fmt: skip


def test_loss_is_two_elbos_plus_weighted_mmd():
    torch.manual_seed(2)
    da = DomainAdaptedVAEModule((6,), n_latent=3, hidden_dims=(8,))
    x, x_t = torch.randn(10, 6), torch.randn(12, 6) + 1
    y_pred = da(x, x_1=x_t)
    terms = DomainAdaptationLoss(mmd_weight=0.5, weighting="fixed")(y_pred, x, x_1=x_t)
    elbo = ELBOLoss()
    source = elbo(*y_pred[:1], x, *y_pred[1:3])
    target = elbo(y_pred[3], x_t, *y_pred[4:])
    mmd = mmd2(y_pred[1], y_pred[4])
    torch.testing.assert_close(terms["mmd"], mmd)
    torch.testing.assert_close(terms["reconstruction_target"], target["reconstruction"])
    torch.testing.assert_close(
        terms["loss"], source["loss"] + target["loss"] + 0.5 * mmd
    )
    terms["loss"].backward()
    assert all(p.grad is not None for p in da.encoder.parameters())


def _arrays(n_source, n_target, width=4):
    source = np.arange(n_source * width, dtype=np.float32).reshape(n_source, width)
    target = 1000 + np.arange(n_target * width, dtype=np.float32).reshape(
        n_target, width
    )
    return DomainDataset(ArrayDataset(source), ArrayDataset(target))


def test_paired_batches_share_rows():
    torch.manual_seed(0)
    loader = DomainBatchLoader(_arrays(30, 30), batch_size=8, shuffle=True, paired=True)
    batches = list(loader)
    assert len(batches) == len(loader) == 4
    for batch, _ in batches:
        assert torch.equal(batch["x_1"] - batch["x"], torch.full_like(batch["x"], 1000))
    seen = torch.cat([b["x"][:, 0] for b, _ in batches])
    assert sorted(seen.tolist()) == [4.0 * i for i in range(30)]
    with pytest.raises(
        ValueError, match=r"as many samples in every survey; got \[30, 29\]"
    ):
        DomainBatchLoader(_arrays(30, 29), paired=True)


@pytest.mark.parametrize("n_target", [10, 50])
def test_unpaired_target_batches_match_source_batches(n_target):
    torch.manual_seed(0)
    loader = DomainBatchLoader(_arrays(30, n_target), batch_size=8, shuffle=True)
    batches = list(loader)
    assert [len(b["x_1"]) for b, _ in batches] == [8, 8, 8, 6]
    rows = torch.cat([b["x_1"][:, 0] for b, _ in batches]).long().tolist()
    if n_target == 10:  # a small target set is cycled: every row, three times
        assert {r: rows.count(r) for r in set(rows)} == {
            1000 + 4 * i: 3 for i in range(10)
        }
    else:  # a large one is sampled without repeats within the epoch
        assert len(set(rows)) == 30


def test_mmd_term_pulls_the_domains_together():
    torch.manual_seed(3)
    da = DomainAdaptedVAEModule((6,), n_latent=2, hidden_dims=(16,))
    source = torch.randn(64, 6)
    target = 0.5 * torch.randn(64, 6) + 2.0  # another survey's view
    loss = DomainAdaptationLoss(mmd_weight=20.0)
    optimizer = torch.optim.Adam(da.parameters(), lr=1e-2)

    def latent_mmd():
        da.eval()
        with torch.no_grad():
            return float(mmd2(da.encode(source)[0], da.encode(target)[0]))

    before = latent_mmd()
    da.train()
    for _ in range(60):
        optimizer.zero_grad()
        loss(da(source, x_1=target), source, x_1=target)["loss"].backward()
        optimizer.step()
    assert latent_mmd() < 0.3 * before
