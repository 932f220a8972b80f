"""Data-parallel fits under torch.distributed (two gloo processes on loopback).

The VAE, the GMM-VAE and domain adaptation (without its batch-statistic
MMD term) fitted by ``torchrun --nproc_per_node=2`` match the same fits in
one process.
"""

import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skgalvae import (
    DomainAdaptedVAETransformer,
    GMMVAETransformer,
    VAETransformer,
)
from skgalvae.datasets import make_blobs_images
from skgalvae.nn._device import resolve_device
from skgalvae.nn.data import ArrayDataset, DeviceBatchLoader
from skgalvae.nn.distributed import shard_bounds

# 99 galaxies in global batches of 32: the last batch of 3 splits 1 + 2, so
# the uneven-share weighting is exercised too.
N_SAMPLES, BATCH_SIZE = 99, 32
PARAMS = dict(
    n_latent=3, hidden_dims=(8, 16), batch_size=BATCH_SIZE, max_epochs=3, lr=3e-3
)
GMM_PARAMS = dict(PARAMS, n_components=3, max_epochs=2, pretrain_epochs=2)

# What a user launches with `torchrun --nproc_per_node=2 fit_ddp.py OUT`.
_FIT_DDP = f"""
import sys
import joblib, torch, torch.distributed as dist
from skgalvae import GMMVAETransformer, VAETransformer
from skgalvae.datasets import make_blobs_images

dist.init_process_group("gloo")
torch.set_num_threads(1)
X = make_blobs_images({N_SAMPLES}, image_size=64, random_state=0).images
vae = VAETransformer(**{PARAMS!r}, random_state=int(sys.argv[2])).fit(X)
gmm = GMMVAETransformer(**{GMM_PARAMS!r}, random_state=3).fit(X)
rank = dist.get_rank()
result = (vae.transform(X), vae.history_[:, "train_loss"], vae, gmm.predict_proba(X))
joblib.dump(result, f"{{sys.argv[1]}}/{{rank}}.joblib")
dist.destroy_process_group()
"""


def _torchrun(script, *args, nproc=2):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",  # rendezvous on localhost, a free port
        f"--nproc_per_node={nproc}",
        str(script),
        *map(str, args),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def blobs99():
    return make_blobs_images(N_SAMPLES, image_size=64, random_state=0).images


@pytest.mark.slow
def test_two_gloo_processes_fit_like_one(blobs99, tmp_path):
    script = tmp_path / "fit_ddp.py"
    script.write_text(_FIT_DDP)
    _torchrun(script, tmp_path, 7)
    single = VAETransformer(**PARAMS, random_state=7).fit(blobs99)
    latents_0, losses_0, vae_0, proba_0 = joblib.load(tmp_path / "0.joblib")
    latents_1, losses_1, _, proba_1 = joblib.load(tmp_path / "1.joblib")
    np.testing.assert_array_equal(latents_0, latents_1)  # the ranks agree exactly
    np.testing.assert_array_equal(proba_0, proba_1)
    reference = single.transform(blobs99)
    # Measured: 6e-8 for the VAE; 1.4e-4 for the responsibilities of the
    # near-uniform 2-epoch mixture (checked with atol=5e-4 below).
    np.testing.assert_allclose(latents_0, reference, atol=1e-5, rtol=1e-4)
    # The recorded losses are the global batches' means, as in one process.
    np.testing.assert_allclose(losses_0, single.history_[:, "train_loss"], rtol=1e-4)
    state, single_state = vae_0.net_.module_.state_dict(), single.net_.module_
    for name, tensor in single_state.state_dict().items():
        np.testing.assert_allclose(state[name], tensor, atol=1e-5, rtol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a 4-epoch mixture
        gmm = GMMVAETransformer(**GMM_PARAMS, random_state=3).fit(blobs99)
    # Components are unordered: a near tie among the mixture's initialisations
    # may number them differently, so match them first.
    reference = gmm.predict_proba(blobs99)
    order = [int(np.argmin(np.abs(reference.T - c).sum(1))) for c in proba_0.T]
    assert sorted(order) == list(range(reference.shape[1]))
    np.testing.assert_allclose(proba_0, reference[:, order], atol=5e-4)
    # The fitted model is a plain module again, usable outside the group.
    assert not isinstance(vae_0.net_.module_, torch.nn.parallel.DistributedDataParallel)
    np.testing.assert_allclose(vae_0.transform(blobs99), latents_0, atol=1e-6)


def test_a_different_seed_gives_a_different_fit(blobs99):
    # The tolerance above is meaningful: the seed matters far more than it.
    a = VAETransformer(**PARAMS, random_state=7).fit(blobs99).transform(blobs99)
    b = VAETransformer(**PARAMS, random_state=8).fit(blobs99).transform(blobs99)
    assert np.abs(a - b).max() > 1e-2


@pytest.mark.parametrize("n_rows", [99, 97, 96, 65])
def test_shards_cover_each_global_batch_once(n_rows):
    data = ArrayDataset(np.arange(n_rows, dtype=np.float32)[:, None])
    torch.manual_seed(0)
    whole = [x.squeeze(1) for x, _ in DeviceBatchLoader(data, 32, shuffle=True)]
    pieces = []
    for rank in range(3):
        torch.manual_seed(0)
        loader = DeviceBatchLoader(data, 32, shuffle=True, shard=(rank, 3))
        batches = []
        for x, _ in loader:
            low, high, batch_rows = loader.current_shard
            assert high - low == len(x) and batch_rows >= 3
            batches.append(x.squeeze(1))
        assert len(batches) == len(loader)
        pieces.append(batches)
    joined = [torch.cat(parts) for parts in zip(*pieces, strict=True)]
    if n_rows % 32 and n_rows % 32 < 3:  # a short last batch joins the one before
        whole[-2:] = [torch.cat(whole[-2:])]
    assert len(joined) == len(whole)
    for a, b in zip(joined, whole, strict=True):
        torch.testing.assert_close(a, b)
    assert shard_bounds(10, 2, 3) == (6, 10)


def test_auto_device_under_torchrun(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "3")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == "cuda:1"
    monkeypatch.delenv("LOCAL_RANK")
    assert resolve_device("auto") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert resolve_device("auto") == "cpu"


# Domain adaptation under torchrun: each process keeps its rows of every
# global batch of both surveys (pairs stay together).
DA_PARAMS = dict(n_latent=3, hidden_dims=(8, 16), batch_size=16, max_epochs=2, lr=3e-3)
_DA_DDP = f"""
import sys
import joblib, numpy as np, torch, torch.distributed as dist
from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae.datasets import make_blobs_images

dist.init_process_group("gloo")
torch.set_num_threads(1)
X = make_blobs_images(48, image_size=64, random_state=0).images
X_target = np.ascontiguousarray(X[:, :, ::-1] * 0.8)
results = []
for weight in (0.0, 1.0):
    da = DomainAdaptedVAETransformer(
        **{DA_PARAMS!r}, paired=True, mmd_weight=weight, random_state=5
    ).fit(X, X_target=X_target)
    results.append((da.transform(X_target), da.history_[:, "train_loss"]))
try:  # 2 samples per survey per process do not fit in a global batch of 3
    DomainAdaptedVAETransformer(hidden_dims=(8,), max_epochs=1, batch_size=3).fit(
        X, X_target=X_target
    )
except ValueError as exc:
    results.append(str(exc))
try:  # a global batch of 1 cannot be shared by 2 processes
    VAETransformer(hidden_dims=(8,), max_epochs=1, batch_size=1).fit(X)
except ValueError as exc:
    results.append(str(exc))
joblib.dump(results, f"{{sys.argv[1]}}/{{dist.get_rank()}}.joblib")
dist.destroy_process_group()
"""


@pytest.mark.slow
def test_domain_adaptation_trains_data_parallel(tmp_path):
    script = tmp_path / "da_ddp.py"
    script.write_text(_DA_DDP)
    _torchrun(script, tmp_path)
    rank_0, rank_1 = (joblib.load(tmp_path / f"{r}.joblib") for r in (0, 1))
    for (latents_0, _), (latents_1, _) in zip(rank_0[:2], rank_1[:2], strict=True):
        np.testing.assert_array_equal(latents_0, latents_1)  # the ranks agree
    assert "batch_size >= 4 (2 samples per survey per process)" in rank_0[2]
    assert "one row per process" in rank_0[3]
    # Without the MMD, whose batch statistics are per process, the two-process
    # fit is the one-process fit: both surveys were sharded consistently.
    X = make_blobs_images(48, image_size=64, random_state=0).images
    X_target = np.ascontiguousarray(X[:, :, ::-1] * 0.8)
    single = DomainAdaptedVAETransformer(
        **DA_PARAMS, paired=True, mmd_weight=0.0, random_state=5
    ).fit(X, X_target=X_target)
    latents, losses = rank_0[0]
    np.testing.assert_allclose(latents, single.transform(X_target), atol=1e-4)
    np.testing.assert_allclose(losses, single.history_[:, "train_loss"], rtol=1e-4)
    # With it, the fit still trains: finite, and not the fit without it.
    with_mmd, _ = rank_0[1]
    assert np.isfinite(with_mmd).all() and np.abs(with_mmd - latents).max() > 1e-3


# A compiled fit under torchrun (the ahead-of-time autograd path, without
# code generation), with a learned noise scale, which lives outside DDP.
LEARNED = dict(PARAMS, likelihood="gaussian", noise="learned", max_epochs=2)
_COMPILED_DDP = f"""
import functools, sys
import joblib, torch, torch.distributed as dist
from skgalvae import VAETransformer
from skgalvae.datasets import make_blobs_images

torch.compile = functools.partial(torch.compile, backend="aot_eager")
dist.init_process_group("gloo")
torch.set_num_threads(1)
X = make_blobs_images({N_SAMPLES}, image_size=64, random_state=0).images
vae = VAETransformer(**{LEARNED!r}, compile=sys.argv[2] == "1", random_state=7)
vae.fit(X)
module = vae.net_.module_
result = (vae.transform(X), vae.noise_scale_, type(module).__name__, module.encoder)
joblib.dump(result, f"{{sys.argv[1]}}/{{dist.get_rank()}}.joblib")
dist.destroy_process_group()
"""


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.slow
def test_data_parallel_fit_with_compile_and_a_learned_noise(compiled, tmp_path):
    script = tmp_path / "compiled_ddp.py"
    script.write_text(_COMPILED_DDP)
    _torchrun(script, tmp_path, int(compiled))
    latents_0, noise_0, kind, _ = joblib.load(tmp_path / "0.joblib")
    latents_1, noise_1, _, _ = joblib.load(tmp_path / "1.joblib")
    # The noise scale's gradient is averaged over the processes too: the
    # ranks hold the same one, which is the one-process fit's.
    np.testing.assert_array_equal(noise_0, noise_1)
    np.testing.assert_array_equal(latents_0, latents_1)
    assert kind == "VAEModule"  # unwrapped from DDP and compile alike
    X = make_blobs_images(N_SAMPLES, image_size=64, random_state=0).images
    single = VAETransformer(**LEARNED, random_state=7).fit(X)
    # Against the one-process fit, within float rounding amplified by Adam: a
    # learned noise scale sits where its gradient is near zero, so Adam's
    # normalised steps follow the rounding, which differs with the batch
    # split and the CPU's kernels (about 0.3 % in the noise and 1 % in the
    # latents after two epochs on some machines, none on others).
    np.testing.assert_allclose(noise_0, single.noise_scale_, rtol=1e-2)
    np.testing.assert_allclose(latents_0, single.transform(X), atol=2e-2, rtol=2e-2)


class _RecordingDDP(torch.nn.Module):
    """Stands in for DistributedDataParallel: records what it was given."""

    def __init__(self, module, device_ids=None):
        super().__init__()
        self.module = module
        self.device_ids = device_ids
        self.parameter_devices = {p.device for p in module.parameters()}


def test_ddp_wraps_the_module_on_its_device(monkeypatch):
    # DDP requires the module on its device when it wraps it; "meta" stands
    # for a GPU: the module is built on the CPU and must be moved first.
    from skgalvae.nn import VAEModule, VAENet

    monkeypatch.setattr(torch.nn.parallel, "DistributedDataParallel", _RecordingDDP)
    net = VAENet(
        VAEModule,
        module__sample_shape=(3, 64, 64),
        module__n_latent=2,
        module__hidden_dims=(8,),
        device="meta",
        data_parallel=True,
    )
    net._initialize_module()
    assert isinstance(net.module_, _RecordingDDP)
    assert net.module_.parameter_devices == {torch.device("meta")}
    assert net.module_.device_ids is None  # only CUDA modules take device ids


def test_each_process_gets_its_own_gpu(monkeypatch):
    from skgalvae.nn import distributed

    current = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "set_device", current.append)
    monkeypatch.setenv("LOCAL_RANK", "5")
    assert distributed.data_parallel_device("cuda") == "cuda:1"
    assert current == [1]  # made current, for NCCL's collectives
    assert distributed.data_parallel_device("cuda:3") == "cuda:3"  # explicit
    assert current == [1, 3]
    assert distributed.data_parallel_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current[-1])
    monkeypatch.setattr(distributed.dist, "get_backend", lambda: "nccl")
    assert distributed.collective_device() == torch.device("cuda", 3)
    monkeypatch.setattr(distributed.dist, "get_backend", lambda: "gloo")
    assert distributed.collective_device() == torch.device("cpu")
