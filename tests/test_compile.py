"""The device path, checked on a CPU: compiled steps, host syncs, precision, layout.

A GPU is rarely at hand, so what can go wrong on one is checked here: the
training step of every model traces into one graph (no graph breaks), a fit
compiles once more at most (a short last batch), a compiled fit on the CPU
(inductor) trains the same model as an eager one, a training batch never
waits for the device (no ``.item()``, ``.cpu()``, ``bool(tensor)`` or host
tensor), the latents come out in float32 under bf16 autocast, and
augmentation and the decoder keep channels_last.
"""

import functools
import shutil
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from torch._dynamo.testing import CompileCounter
from torch.overrides import TorchFunctionMode

from skgalvae import (
    DomainAdaptedVAETransformer,
    GMMVAETransformer,
    VAETransformer,
)
from skgalvae.nn import dihedral_augment, survey_view
from skgalvae.nn.net import core_module

SMALL = dict(n_latent=4, hidden_dims=(8, 16), batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((48, 3, 64, 64), dtype=np.float32)


def _fitted(kind, images, **params):
    """A small fitted model of ``kind`` and one training batch for its net."""
    x = torch.from_numpy(images[:16])
    params = {"max_epochs": 1, **SMALL, **params}
    if kind == "vae":
        return VAETransformer(**params).fit(images), x
    if kind == "gmm":
        gmm = GMMVAETransformer(n_components=2, pretrain_epochs=1, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch
            return gmm.fit(images), x
    target = np.ascontiguousarray(images[:, :, ::-1])
    model = DomainAdaptedVAETransformer(**params).fit(images, X_target=target)
    criterion = model.net_.criterion_
    # A batch that is not one of the (periodic) gradient measurements.
    criterion._batches_seen = criterion.calibration_batches + 1
    return model, {"x": x, "x_1": torch.from_numpy(target[:16])}


MODELS = [
    ("vae", {}),
    ("vae", {"noise": "learned"}),
    ("vae", {"invariance": "dihedral"}),
    ("vae", {"consistency_weight": 1.0}),
    ("gmm", {}),
    ("da", {}),
]


def _model_id(model):
    kind, params = model
    return "-".join([kind, *(f"{k}={v}" for k, v in params.items())])


@pytest.mark.parametrize("model", MODELS, ids=_model_id)
def test_training_forward_and_loss_trace_without_graph_breaks(model, images):
    kind, params = model
    fitted, batch = _fitted(kind, images, **params)
    net = fitted.net_
    net._set_training(True)
    net._batch_terms = []
    inputs = batch if isinstance(batch, dict) else {"x": batch}
    noise = core_module(net.module_).latent_noise(**inputs)

    def forward_and_loss(batch, noise):
        return net.get_loss(net.infer(batch, noise=noise), None, batch, True)

    forward_and_loss(batch, noise)  # state read once per fit is read now
    explained = torch._dynamo.explain(forward_and_loss)(batch, noise)
    reasons = [str(reason.reason)[:200] for reason in explained.break_reasons]
    assert explained.graph_break_count == 0, reasons
    assert explained.graph_count == 1


class _HostSyncs(TorchFunctionMode):
    """Count the calls that make the host wait for the device (on a GPU)."""

    SYNCING = {
        "item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__",
        "__index__", "tensor", "new_tensor", "nonzero", "unique",
    }  # fmt: skip

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in self.SYNCING:
            self.calls.append(name)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("model", MODELS, ids=_model_id)
def test_a_training_batch_never_waits_for_the_device(model, images):
    kind, params = model
    fitted, batch = _fitted(kind, images, **params)
    net = fitted.net_
    net._batch_terms = []
    net.train_step_single((batch, None))  # a learned noise reads its flag once
    with _HostSyncs() as syncs:
        net.train_step_single((batch, None))
        net.train_step_single((batch, None))
    assert syncs.calls == []
    assert len(net._batch_terms) == 3


@pytest.fixture
def compile_counter(monkeypatch):
    """Make ``torch.compile`` count the graphs it compiles (no code generated)."""
    counter = CompileCounter()
    monkeypatch.setattr(
        torch, "compile", functools.partial(torch.compile, backend=counter)
    )
    torch._dynamo.reset()
    yield counter
    torch._dynamo.reset()


def test_a_fit_with_batches_of_several_sizes_compiles_once(images, compile_counter):
    # 48 rows in batches of 20: 20, 20, 8, twice. The batch dimension is
    # dynamic from the start; the CPU's convolutions specialise on batches
    # under 16, which costs one recompilation at most.
    VAETransformer(**{**SMALL, "batch_size": 20}, max_epochs=2, compile=True).fit(
        images
    )
    assert 1 <= compile_counter.frame_count <= 2
    # Batches of 24 and 16 share one graph.
    torch._dynamo.reset()
    compile_counter.clear()
    fitted = VAETransformer(
        **{**SMALL, "batch_size": 24}, max_epochs=2, compile=True
    ).fit(images[:40])
    assert compile_counter.frame_count == 1
    assert hasattr(fitted.net_.module_, "_orig_mod")
    assert not hasattr(fitted.net_.criterion_, "_orig_mod")  # eager criterion


needs_compiler = pytest.mark.skipif(
    shutil.which("c++") is None and shutil.which("g++") is None,
    reason="inductor builds C++ kernels on the CPU: no C++ compiler found",
)


@pytest.mark.slow
@needs_compiler
@pytest.mark.parametrize("kind", ["vae", "gmm", "da"])
def test_a_compiled_fit_on_the_cpu_trains_the_eager_model(kind, images):
    # inductor generates and builds C++ kernels: the real compiler path.
    torch._dynamo.reset()
    params = dict(max_epochs=2) if kind != "gmm" else {}
    compiled, batch = _fitted(kind, images, compile=True, **params)
    eager, _ = _fitted(kind, images, compile=False, **params)
    if kind == "da":
        target = batch["x_1"].numpy()
        z_compiled, z_eager = compiled.transform(target), eager.transform(target)
    else:
        z_compiled, z_eager = compiled.transform(images), eager.transform(images)
    assert np.isfinite(z_compiled).all()
    scale = np.abs(z_eager).max()
    assert np.abs(z_compiled - z_eager).max() < 1e-2 * scale
    torch._dynamo.reset()


def test_latents_are_float32_under_bf16_autocast(images):
    vae = VAETransformer(**SMALL, max_epochs=1).fit(images)
    net = vae.net_
    net.precision = "bfloat16"
    x = torch.from_numpy(images[:8])
    with net.autocast():
        mu, logvar = core_module(net.module_).encode(x)
    assert mu.dtype == logvar.dtype == torch.float32
    # The bf16 features still shift them, but by far less than bf16 heads'
    # rounding would add on top.
    plain = vae.transform(images[:8])
    assert np.abs(mu.detach().numpy() - plain).max() < 0.05 * np.abs(plain).max()


def test_augmentation_and_decoder_keep_channels_last(images):
    x = torch.from_numpy(images[:8]).contiguous(memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(0)
    flipped = dihedral_augment(x, generator=generator)
    assert flipped.is_contiguous(memory_format=torch.channels_last)
    plain = dihedral_augment(x.contiguous(), generator=generator.manual_seed(0))
    assert plain.is_contiguous()
    torch.testing.assert_close(flipped, plain)  # the same images either way
    view = survey_view(x, generator=generator)
    assert view.is_contiguous(memory_format=torch.channels_last)
    vae = VAETransformer(**SMALL, max_epochs=1, channels_last=True).fit(images)
    module = core_module(vae.net_.module_)
    with torch.no_grad():
        drawn = module.decode(torch.zeros(2, SMALL["n_latent"]))
    assert drawn.is_contiguous(memory_format=torch.channels_last)
    assert drawn.shape == (2, 3, 64, 64)


def test_staging_counts_the_memory_torch_holds_cached(monkeypatch):
    from skgalvae.nn.data import should_stage

    gib = 2**30
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (2 * gib, 80 * gib))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: 10 * gib)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: 1 * gib)
    array = np.zeros((gib // 4,), dtype=np.float32)  # 1 GiB
    # 2 GiB free for the driver, 9 GiB cached and unused by torch: half of
    # the 11 GiB it may use holds the array; half of the driver's alone not.
    assert should_stage(array, "cuda:0")
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: 1 * gib)
    assert not should_stage(np.zeros((gib // 2,), dtype=np.float32), "cuda:0")


def test_inference_batches_are_larger_on_cuda(images):
    vae = VAETransformer(**SMALL, max_epochs=1).fit(images[:16])
    assert vae._inference_batch_size == SMALL["batch_size"]  # on the CPU
    vae.device_ = "cuda:0"  # what a fit on a GPU records
    assert vae._inference_batch_size == 1024
    vae.set_params(inference_batch_size=40)
    assert vae._inference_batch_size == 40
    vae.device_ = "cpu"
    sizes, encode_iter = [], vae.net_.encode_iter

    def recording(dataset, batch_size=None):
        for mu, logvar in encode_iter(dataset, batch_size):
            sizes.append(len(mu))
            yield mu, logvar

    vae.net_.encode_iter = recording
    vae.set_params(inference_batch_size=5)
    latents = vae.transform(images[:16])
    assert sizes == [5, 5, 5, 1]
    vae.set_params(inference_batch_size="auto")
    np.testing.assert_allclose(vae.transform(images[:16]), latents, atol=1e-6)
    assert sizes[4:] == [16]
