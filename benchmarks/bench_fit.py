"""VAETransformer vs a plain PyTorch loop: fit and transform throughput.

Both train the same :class:`skgalvae.nn.VAEModule` on the same data with the same
batch size, precision and memory format. The plain loop is the reference a
PyTorch user would write for speed: the data tensor lives on the device, batches
are gathered there, the loss is read back once per epoch. Throughput is the
median over epochs after the first (which pays for staging and compilation).

Usage::

    python benchmarks/bench_fit.py                      # CPU: 64x64 images
    python benchmarks/bench_fit.py --device cuda        # CUDA: 256x256, batch 512
    python benchmarks/bench_fit.py --device cuda --compile

Targets: fit ratio >= 0.9 on CPU and >= 1.0 on CUDA; transform >= 140k
img/s with bf16 on an H100. DomainAdaptedVAETransformer fine-tuning (from the
fitted VAE, to a second array of as many images) runs at >= 0.5x the VAE's
fit throughput, counted in image *pairs* per second: each step encodes and
decodes a source and a target batch (``da_pairs_per_vae_img``: one shared
encoder, MMD); the default from a fitted VAE (the source anchored,
cluster-wise MMD, ``da_anchored_pairs_per_vae_img``) the same. The
default network (residual, calibrated Gaussian, augmented) fits at >= 0.7x
the study's exact model (``fit_default_over_xu2023``). Pose-free latents
(``invariance="dihedral"``) cost <= 1.5x the default per epoch
(``fit_pose_free_over_default`` >= 0.67), and so does a consistency term on
top (``fit_consistency_over_default``).

Transform is timed twice: from the numpy array (host validation and
host-to-device copies included) and from the same images already on the device
as a torch tensor, which is the plain loop's setting.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from sklearn.frozen import FrozenEstimator
from skorch.callbacks import Callback

from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae.nn import ELBOLoss, VAEModule
from skgalvae.nn._device import resolve_channels_last, resolve_device, resolve_precision
from skgalvae.nn.networks import set_memory_format


class EpochClock(Callback):
    """Wall-clock time at the end of every epoch (monitor callbacks included)."""

    def on_train_begin(self, net, **kwargs):
        self.ticks_ = [time.perf_counter()]

    def on_epoch_end(self, net, **kwargs):
        if torch.device(net.device).type == "cuda":
            torch.cuda.synchronize()
        self.ticks_.append(time.perf_counter())


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def plain_fit(
    X,
    vae,
    *,
    device,
    precision,
    channels_last,
    batch_size,
    epochs,
    n_latent,
    lr,
    compile_model,
    seed,
):
    """Train ``vae``'s module with a hand-written loop; return epoch wall times.

    The module and the likelihood are the fitted ``vae``'s (its architecture,
    widths and likelihood), freshly initialised; no augmentation.
    """
    torch.manual_seed(seed)
    model = VAEModule(
        X.shape[1:],
        n_latent,
        vae.hidden_dims_,
        vae.output_activation_,
        vae.architecture_,
    ).to(device)
    if channels_last:
        set_memory_format(model, torch.channels_last)
    step_model = torch.compile(model) if compile_model else model
    criterion = ELBOLoss(vae.likelihood_, 1.0, n_bands=X.shape[1]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    autocast = torch.autocast(
        torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bfloat16"
    )
    # cuDNN times its algorithms for the repeated shapes, as VAETransformer's
    # fit lets it.
    torch.backends.cudnn.benchmark = True
    start = time.perf_counter()
    data = torch.from_numpy(X).to(device)
    ticks = [start]
    for _ in range(epochs):
        total = torch.zeros((), device=device)
        for index in torch.randperm(len(data)).split(batch_size):
            x = data[index.to(device)]
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                x_hat, mu, logvar = step_model(x)
            loss = criterion(x_hat, x, mu, logvar)["loss"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        float(total)  # one sync per epoch, like VAETransformer
        ticks.append(time.perf_counter())
    torch.backends.cudnn.benchmark = False
    return np.diff(ticks), model, data, autocast


@torch.inference_mode()
def plain_transform(model, data, autocast, batch_size, device):
    model.eval()
    _sync(device)
    start = time.perf_counter()
    for x in data.split(batch_size):
        with autocast:
            mu, _ = model.encode(x)
        mu.float()
    _sync(device)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--image-size", type=int, default=None, help="default: 64 on CPU, 256 on CUDA"
    )
    parser.add_argument(
        "--n-samples",
        type=int,
        default=None,
        help="default: 2048 on CPU, 16384 on CUDA",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: 128 on CPU, 512 on CUDA"
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--n-latent", type=int, default=40)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument(
        "--channels-last",
        choices=["auto", "on", "off"],
        default="auto",
        help="memory format of both fits (auto: channels_last on CUDA)",
    )
    parser.add_argument(
        "--no-variants",
        action="store_true",
        help="skip the study's model, pose-free and consistency fits",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    cuda = torch.device(device).type == "cuda"
    size = args.image_size or (256 if cuda else 64)
    n = args.n_samples or (16384 if cuda else 2048)
    batch = args.batch_size or (512 if cuda else 128)
    precision = resolve_precision("auto", device)
    layout = {"auto": "auto", "on": True, "off": False}[args.channels_last]
    channels_last = resolve_channels_last(layout, device, True)
    rng = np.random.default_rng(0)
    X = rng.random((n, 3, size, size), dtype=np.float32)
    common = dict(
        batch_size=batch, epochs=args.epochs, n_latent=args.n_latent, lr=1e-3, seed=0
    )

    timed = dict(
        n_latent=args.n_latent,
        batch_size=batch,
        max_epochs=args.epochs,
        device=device,
        compile=args.compile,
        channels_last=channels_last,
        random_state=0,
    )
    vae = VAETransformer(**timed, callbacks=[("clock", EpochClock())]).fit(X)
    vae_times = np.diff(dict(vae.net_.callbacks_)["clock"].ticks_)
    # The study's exact model, for the cost of the default network; pose-free
    # latents, and a consistency term on top: their cost per epoch.
    variants = {
        "xu2023": {
            "architecture": "xu2023",
            "likelihood": "sse",
            "lr_schedule": "constant",
            "augment": None,
        },
        "pose_free": {"invariance": "dihedral"},
        "consistency": {"invariance": "dihedral", "consistency_weight": 1.0},
    }
    variant_times = {}
    for name, params in {} if args.no_variants else variants.items():
        variant = VAETransformer(
            **timed, **params, callbacks=[("clock", EpochClock())]
        ).fit(X)
        variant_times[name] = np.diff(dict(variant.net_.callbacks_)["clock"].ticks_)
        del variant

    plain_times, model, data, autocast = plain_fit(
        X,
        vae,
        device=device,
        precision=precision,
        channels_last=channels_last,
        compile_model=args.compile,
        **common,
    )

    X_target = rng.random((n, 3, size, size), dtype=np.float32)
    da_times = {}
    # The study's shared encoder with MMD, and the default from a fitted VAE
    # (the source anchored, cluster-wise MMD).
    runs = {"da": {"anchor": None, "adaptation": "mmd"}, "da_anchored": {}}
    for name, params in runs.items():
        da = DomainAdaptedVAETransformer(
            **timed,
            **params,
            init=FrozenEstimator(vae),
            callbacks=[("clock", EpochClock())],
        ).fit(X, X_target=X_target)
        da_times[name] = np.diff(dict(da.net_.callbacks_)["clock"].ticks_)
        del da
    del X_target

    def throughput(times):
        steady = times[1:] if len(times) > 1 else times
        return n / statistics.median(steady)

    # Both transforms run in batches of the estimator's inference batch size.
    inference_batch = vae._inference_batch_size
    plain_transform(model, data, autocast, inference_batch, device)  # warm-up
    plain_transform_s = plain_transform(model, data, autocast, inference_batch, device)
    vae.transform(X[:batch])  # warm-up
    start = time.perf_counter()
    vae.transform(X)
    vae_transform_s = time.perf_counter() - start
    # Images already on the device (the plain reference's setting): no host
    # copy, finiteness checked on the device.
    start = time.perf_counter()
    vae.transform(data)
    vae_transform_tensor_s = time.perf_counter() - start

    results = {
        "device": device,
        "device_name": torch.cuda.get_device_name() if cuda else "cpu",
        "torch_threads": torch.get_num_threads(),
        "image": f"3x{size}x{size}",
        "n_samples": n,
        "batch_size": batch,
        "inference_batch_size": inference_batch,
        "precision": precision,
        "channels_last": channels_last,
        "compile": args.compile,
        "fit_plain_img_s": throughput(plain_times),
        "fit_vae_img_s": throughput(vae_times),
        **{f"fit_{name}_img_s": throughput(t) for name, t in variant_times.items()},
        **{f"fit_{name}_pairs_s": throughput(t) for name, t in da_times.items()},
        "transform_plain_img_s": n / plain_transform_s,
        "transform_vae_img_s": n / vae_transform_s,
        "transform_vae_device_tensor_img_s": n / vae_transform_tensor_s,
    }
    results["fit_ratio"] = results["fit_vae_img_s"] / results["fit_plain_img_s"]
    if "xu2023" in variant_times:
        results["fit_default_over_xu2023"] = (
            results["fit_vae_img_s"] / results["fit_xu2023_img_s"]
        )
    for name in ("pose_free", "consistency"):
        if name in variant_times:
            results[f"fit_{name}_over_default"] = (
                results[f"fit_{name}_img_s"] / results["fit_vae_img_s"]
            )
    for name in da_times:
        results[f"{name}_pairs_per_vae_img"] = (
            results[f"fit_{name}_pairs_s"] / results["fit_vae_img_s"]
        )
    results["transform_ratio"] = (
        results["transform_vae_img_s"] / results["transform_plain_img_s"]
    )
    results["transform_device_tensor_ratio"] = (
        results["transform_vae_device_tensor_img_s"] / results["transform_plain_img_s"]
    )
    width = max(map(len, results))
    for key, value in results.items():
        shown = f"{value:,.2f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
