import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skgalvae import DomainAdaptedVAETransformer, GMMVAETransformer, VAETransformer
from skgalvae.nn.net import dihedral_augment


@pytest.mark.slow
def _module_entries(fit, watched):
    """Count how often ``fit()`` enters each watched module from the estimator."""
    entries = dict.fromkeys(watched, 0)

    def profile(frame, event, arg):
        if event != "call" or frame.f_back is None:
            return
        module = frame.f_globals.get("__name__")
        caller = frame.f_back.f_globals.get("__name__", "")
        if module in entries and caller.startswith("skgalvae.vae."):
            entries[module] += 1

    sys.setprofile(profile)
    try:
        fit()
    finally:
        sys.setprofile(None)
    return entries


@pytest.mark.parametrize("estimator", [VAETransformer, DomainAdaptedVAETransformer])
def test_fit_reads_x_through_the_intake_once(images, estimator):
    """Intake (units, dtype, shape, values) and the network check, once each."""
    fit_data = {} if estimator is VAETransformer else {"X_target": images}
    vae = estimator(
        n_latent=2, hidden_dims=(8,), max_epochs=1, batch_size=32, random_state=0
    )
    entries = _module_entries(
        lambda: vae.fit(images, **fit_data),
        ["skgalvae.io._intake", "skgalvae.nn.architectures", "skgalvae.utils._units"],
    )
    n_inputs = 1 + len(fit_data)  # X_target goes through the same intake
    assert entries == {
        "skgalvae.io._intake": n_inputs,
        "skgalvae.nn.architectures": 1,
        "skgalvae.utils._units": n_inputs,
    }


def test_early_stopping_holds_out_data_and_restores_the_best_weights(images):
    vae = VAETransformer(
        n_latent=4,
        hidden_dims=(8, 16),  # the stopping rule, not the network, is tested
        max_epochs=40,
        batch_size=16,
        early_stopping=True,
        n_iter_no_change=2,
        tol=1.0,  # nats per value: no epoch after the first improves that much
        validation_fraction=0.25,
        random_state=0,
    ).fit(images)
    history = vae.history_
    assert len(history) == 1 + 2  # the first epoch, then two without progress
    valid = history[:, "valid_loss"]
    assert {"valid_ssim", "valid_reconstruction", "valid_kl"} <= set(history[-1])
    # 25% of 96 images held out: 72 trained on per epoch.
    assert sum(history[-1, "batches", :, "train_batch_size"]) == 72
    stopper = dict(vae.net_.callbacks_)["early_stopping"]
    for key, value in vae.net_.module_.state_dict().items():
        torch.testing.assert_close(value, stopper.best_model_weights_[key])
    assert stopper.best_epoch_ == 1 and valid[-1] < valid[0]  # still improving
    # Without the large tol it trains on while the loss keeps falling.
    longer = vae.set_params(tol=0.0, max_epochs=5).fit(images)
    assert len(longer.history_) == 5


def test_validation_needs_rows_on_both_sides(images):
    vae = VAETransformer(early_stopping=True, validation_fraction=0.5, max_epochs=1)
    with pytest.raises(ValueError, match="leaves 0 for training"):
        vae.fit(images[:1])


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
@pytest.mark.slow
def test_learning_rate_schedules(images, schedule):
    vae = VAETransformer(
        n_latent=2, max_epochs=4, lr=1e-3, lr_schedule=schedule, random_state=0
    ).fit(images)
    lrs = [group["lr"] for group in vae.net_.optimizer_.param_groups]
    if schedule == "cosine":
        assert lrs[0] == pytest.approx(0.0, abs=1e-12)  # decayed to 0 at the end
        assert vae.history_[1, "event_lr"] < vae.history_[0, "event_lr"]
    else:
        assert lrs[0] == 1e-3


def test_optimizer_and_its_parameters_pass_through(images):
    vae = VAETransformer(
        n_latent=2,
        max_epochs=1,
        optimizer="adamw",
        optimizer_params={"weight_decay": 0.05},
        random_state=0,
    ).fit(images)
    assert isinstance(vae.net_.optimizer_, torch.optim.AdamW)
    assert vae.net_.optimizer_.param_groups[0]["weight_decay"] == 0.05


def test_kl_warmup_on_the_plain_vae(images):
    vae = VAETransformer(
        n_latent=2, max_epochs=4, kl_warmup=4, kl_weight=0.8, random_state=0
    ).fit(images)
    np.testing.assert_allclose(vae.history_[:, "kl_weight"], [0.2, 0.4, 0.6, 0.8])
    assert vae.net_.criterion_.kl_weight == 0.8


def test_diagnostics_count_active_latents_and_record_kl_per_latent(fitted_vae, images):
    mask = fitted_vae.active_latents_
    assert mask.dtype == bool and mask.shape == (4,)
    assert fitted_vae.n_active_latents_ == mask.sum()
    variances = fitted_vae.transform(images).var(axis=0, dtype=np.float64)
    np.testing.assert_array_equal(mask, variances > 0.01)
    kl = np.asarray(fitted_vae.history_[-1, "kl_per_latent"])
    assert kl.shape == (4,) and (kl >= 0).all()


@pytest.mark.slow
def test_warm_start_continues_the_fitted_network(images):
    params = dict(n_latent=4, max_epochs=3, batch_size=16, random_state=0)
    vae = VAETransformer(**params).fit(images)
    first_run = vae.history_[:, "train_loss"]
    vae.set_params(warm_start=True).fit(images)
    resumed = vae.history_[:, "train_loss"]
    fresh = VAETransformer(**params).fit(images).history_[:, "train_loss"]
    # A continued fit starts where the first one ended, not from scratch.
    assert abs(resumed[0] - first_run[-1]) < abs(fresh[0] - first_run[-1])
    with pytest.raises(ValueError, match="warm_start=True continues"):
        vae.set_params(n_latent=5).fit(images)


def test_user_callbacks_receive_the_fits_events(images):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    VAETransformer(n_latent=2, max_epochs=3, callbacks=[counter]).fit(images)
    assert counter.epochs == 3


def test_tensorboard_callback_writes_event_files(images, tmp_path):
    pytest.importorskip("tensorboard")
    from skorch.callbacks import TensorBoard
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(tmp_path))
    VAETransformer(
        n_latent=2, max_epochs=2, callbacks=[TensorBoard(writer)], random_state=0
    ).fit(images)
    writer.close()
    events = list(tmp_path.glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 100


def test_verbose_2_prints_skorchs_epoch_table(images, capsys):
    VAETransformer(n_latent=2, max_epochs=2, verbose=2, random_state=0).fit(images)
    out = capsys.readouterr().out
    assert "train_loss" in out and "epoch" in out
    assert len([line for line in out.splitlines() if line.strip()[:1] == "1"]) == 1


def test_dihedral_augment_reaches_all_eight_orientations():
    torch.manual_seed(0)
    image = torch.arange(16.0).view(1, 1, 4, 4)
    batch = image.repeat(400, 1, 1, 1)
    out = dihedral_augment(batch)
    seen = {tuple(o.flatten().tolist()) for o in out}
    assert len(seen) == 8
    assert all(sorted(s) == list(range(16)) for s in seen)  # pixels only move
    pair = dihedral_augment({"x": batch, "x_1": batch + 100})
    torch.testing.assert_close(pair["x_1"] - 100, pair["x"])
    vectors = torch.rand(5, 6)
    assert dihedral_augment(vectors) is vectors


def test_augmented_fit_is_reproducible(images):
    params = dict(n_latent=2, max_epochs=2, augment="dihedral", random_state=0)
    a = VAETransformer(**params).fit(images).transform(images)
    b = VAETransformer(**params).fit(images).transform(images)
    np.testing.assert_array_equal(a, b)


def test_training_parameters_reach_every_vae_estimator(images):
    for cls in (VAETransformer, DomainAdaptedVAETransformer, GMMVAETransformer):
        params = cls().get_params()
        for name in (
            "architecture",
            "likelihood",
            "noise",
            "free_bits",
            "kl_warmup",
            "lr_schedule",
            "augment",
            "warm_start",
            "early_stopping",
        ):
            assert name in params, (cls.__name__, name)
    da = DomainAdaptedVAETransformer(n_latent=2, early_stopping=True, max_epochs=1)
    with pytest.raises(ValueError, match="does not hold out validation data"):
        da.fit(images, X_target=images)


_KILLED_FIT = """
import os, signal, sys
import numpy as np
from skorch.callbacks import Callback
from skgalvae import VAETransformer
from skgalvae.datasets import make_blobs_images


class KillAfter(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:  # after the checkpoint of epoch 2
            os.kill(os.getpid(), signal.SIGKILL)


X = make_blobs_images(64, image_size=64, random_state=0).images
VAETransformer(
    n_latent=3, max_epochs=5, batch_size=16, random_state=0,
    checkpoint_dir=sys.argv[1], callbacks=[KillAfter()],
).fit(X)
"""


@pytest.mark.slow
def test_a_killed_fit_resumes_from_its_checkpoint(tmp_path):
    from skgalvae.datasets import make_blobs_images

    directory = tmp_path / "run"
    script = tmp_path / "fit.py"
    script.write_text(_KILLED_FIT)
    result = subprocess.run(
        [sys.executable, str(script), str(directory)], capture_output=True, timeout=300
    )
    assert result.returncode == -9  # killed, as by the scheduler or Ctrl+\\
    saved = json.loads((directory / "history.json").read_text())
    assert len(saved) == 2
    X = make_blobs_images(64, image_size=64, random_state=0).images
    params = dict(n_latent=3, batch_size=16, random_state=0, checkpoint_dir=directory)
    vae = VAETransformer(max_epochs=5, **params).fit(X)
    losses = vae.history_[:, "train_loss"]
    assert len(losses) == 5
    np.testing.assert_allclose(losses[:2], [row["train_loss"] for row in saved])
    # The resumed epochs continue the descent instead of starting over.
    assert losses[2] < losses[0]
    # A cosine schedule carries on where it was: the rate reaches 0 at epoch 5.
    assert vae.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0, abs=1e-12)
    # Raising max_epochs trains on; other settings refuse the directory.
    assert len(VAETransformer(max_epochs=6, **params).fit(X).history_) == 6
    with pytest.raises(ValueError, match="differing: n_latent"):
        VAETransformer(max_epochs=6, **{**params, "n_latent": 4}).fit(X)
    with pytest.raises(ValueError, match="differing: the number of samples"):
        VAETransformer(max_epochs=6, **params).fit(X[:40])
