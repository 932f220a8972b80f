"""Every GPU check in one run: one table, one JSON file.

On a CUDA machine (about 8 minutes on one H100/H200)::

    python benchmarks/gpu_suite.py --json gpu_suite.json

runs, each in a fresh process with its own time limit:

1. ``fit``: ``bench_fit.py --device cuda`` at 3x256x256, batch 512 -- fit and
   transform images/s against the plain PyTorch loop, bf16, domain
   adaptation pairs/s; then the same with ``--compile``;
2. ``encode``: ``bench_encode.py --size 256 --device cuda`` -- ``encode_survey``
   against in-memory ``transform``, img/s and peak RSS;
3. ``ddp``: a one-GPU ``torchrun`` (nccl) fit that must match the
   one-process fit;
4. ``pickle``: a pipeline fitted on the GPU, pickled, restored in a process
   that sees no GPU, with equal transforms;
5. ``study``: ``skgalvae study`` at 256x256 on 20,000 simulated galaxies,
   timed by stage.

``--smoke`` runs the same checks at CPU sizes in a minute or two (CI runs it),
so the script stays working until a GPU is at hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SIZES = {
    "full": dict(
        device="cuda", size=256, fit_n=16384, batch=512, epochs=3,
        encode_n=40000, encode_small=10000, encode_base=2048,
        fit_check_n=2048, study_n=20000, study_extra=[],
    ),
    "smoke": dict(
        device="cpu", size=64, fit_n=32, batch=16, epochs=2,
        encode_n=64, encode_small=32, encode_base=16,
        fit_check_n=32, study_n=120, study_extra=["--config", "{tiny}"],
    ),
}  # fmt: skip

# Fit in this process and under torchrun (one process); compare the latents.
_DDP_SCRIPT = """
import os, sys, joblib, numpy as np, torch.distributed as dist
from skgalvae import VAETransformer
device, n, size, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
X = np.random.default_rng(0).random((n, 3, size, size), dtype=np.float32)
params = dict(n_latent=8, max_epochs=2, batch_size=32, random_state=0,
              precision="float32", compile=False)
under_torchrun = "LOCAL_RANK" in os.environ
if under_torchrun:
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
Z = VAETransformer(**params, device=device).fit(X).transform(X)
if under_torchrun:
    dist.destroy_process_group()
joblib.dump(Z, out)
"""

# Fit a pipeline on the device and pickle it with its transforms.
_PICKLE_FIT = """
import sys, joblib, numpy as np
from sklearn.pipeline import make_pipeline
from skgalvae import VAETransformer
from skgalvae.preprocessing import MTFStretch
device, n, size, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
X = np.random.default_rng(0).random((n, 3, size, size), dtype=np.float32)
pipe = make_pipeline(MTFStretch(), VAETransformer(n_latent=8, max_epochs=2,
                     batch_size=32, device=device, precision="float32",
                     random_state=0)).fit(X)
joblib.dump((pipe, X, pipe.transform(X)), out)
"""

# Restore it where no GPU is visible and transform again.
_PICKLE_LOAD = """
import sys, joblib, numpy as np, torch
assert not torch.cuda.is_available()
pipe, X, Z = joblib.load(sys.argv[1])
print(float(np.abs(pipe.transform(X) - Z).max()))
"""


def _run(command, limit_s, env=None):
    """Run a check's command; return (seconds, stdout) or raise with its stderr."""
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=limit_s, env=env
    )
    if result.returncode:
        raise RuntimeError(result.stderr.strip().splitlines()[-1][:300])
    return time.perf_counter() - start, result.stdout


def check_fit(sizes, work, limit_s, compile_model):
    out = work / f"fit_{compile_model}.json"
    command = [
        sys.executable, str(HERE / "bench_fit.py"), "--device", sizes["device"],
        "--image-size", str(sizes["size"]), "--n-samples", str(sizes["fit_n"]),
        "--batch-size", str(sizes["batch"]), "--epochs", str(sizes["epochs"]),
        "--json", str(out),
    ] + (["--compile"] if compile_model else [])  # fmt: skip
    seconds, _ = _run(command, limit_s)
    r = json.loads(out.read_text())
    return seconds, {
        "fit img/s (vs plain loop)": f"{r['fit_vae_img_s']:,.0f} "
        f"({r['fit_ratio']:.2f}x)",
        "transform img/s (vs plain)": f"{r['transform_vae_img_s']:,.0f} "
        f"({r['transform_ratio']:.2f}x)",
        "DA pairs/s (vs VAE img/s)": f"{r['fit_da_pairs_s']:,.0f} "
        f"({r['da_pairs_per_vae_img']:.2f}x)",
        "precision": r["precision"],
        "_raw": r,
    }


def check_encode(sizes, work, limit_s):
    command = [
        sys.executable, str(HERE / "bench_encode.py"), "--size", str(sizes["size"]),
        "--device", sizes["device"], "--n", str(sizes["encode_n"]),
        "--n-small", str(sizes["encode_small"]), "--base", str(sizes["encode_base"]),
        "--workdir", str(work),
    ]  # fmt: skip
    seconds, stdout = _run(command, limit_s)
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    memory = {r["n"]: r["images_per_s"] for r in rows if r["mode"] == "in-memory"}
    biggest = max(r["n"] for r in rows)
    survey = next(r for r in rows if r["mode"] == "encode_survey" and r["n"] == biggest)
    return seconds, {
        "encode_survey img/s (vs in-memory)": f"{survey['images_per_s']:,.0f} "
        f"({survey['images_per_s'] / memory[biggest]:.2f}x) at N={biggest:,}",
        "peak RSS MB": f"{survey['peak_rss_mb']:.0f}",
        "_raw": rows,
    }


def check_ddp(sizes, work, limit_s):
    script = work / "ddp_fit.py"
    script.write_text(textwrap.dedent(_DDP_SCRIPT))
    n, size, device = str(sizes["fit_check_n"]), "64", sizes["device"]
    single, ddp = work / "single.joblib", work / "ddp.joblib"
    seconds, _ = _run([sys.executable, str(script), device, n, size, str(single)],
                      limit_s)  # fmt: skip
    more, _ = _run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc_per_node=1", str(script), device, n, size, str(ddp)],
        limit_s,
    )  # fmt: skip
    import joblib
    import numpy as np

    gap = float(np.abs(joblib.load(single) - joblib.load(ddp)).max())
    return seconds + more, {
        "max latent difference, DDP vs one process": f"{gap:.2e}",
        "passed": gap < 1e-3,
    }


def check_pickle(sizes, work, limit_s):
    fit, load = work / "pickle_fit.py", work / "pickle_load.py"
    fit.write_text(textwrap.dedent(_PICKLE_FIT))
    load.write_text(textwrap.dedent(_PICKLE_LOAD))
    stored = work / "pipeline.joblib"
    n, device = str(sizes["fit_check_n"]), sizes["device"]
    seconds, _ = _run([sys.executable, str(fit), device, n, "64", str(stored)],
                      limit_s)  # fmt: skip
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    more, stdout = _run([sys.executable, str(load), str(stored)], limit_s, env=env)
    gap = float(stdout.strip().splitlines()[-1])
    return seconds + more, {
        "max transform difference, restored on CPU": f"{gap:.2e}",
        "passed": gap < 1e-3,
    }


# The smoke run's study: every stage, as small as it goes.
_TINY_STUDY = """
latents = [2, 4]
models = ["xu2023"]
epochs = 1
final_epochs = 1
n_pairs = 40
da_epochs = 1
n_trees = 10
min_question_samples = 5
tsne_max = 40
"""


def check_study(sizes, work, limit_s):
    out = work / "study"
    tiny = work / "tiny.toml"
    tiny.write_text(_TINY_STUDY)
    extra = [arg.format(tiny=tiny) for arg in sizes["study_extra"]]
    command = [
        sys.executable, "-m", "skgalvae", "study", "--image-size", str(sizes["size"]),
        "--n-samples", str(sizes["study_n"]), "--device", sizes["device"],
        "--out", str(out), "--no-cache", "--quiet", *extra,
    ]  # fmt: skip
    seconds, _ = _run(command, limit_s)
    results = json.loads((out / "results.json").read_text())
    stages = ", ".join(f"{k} {v:.0f}" for k, v in results["timings_s"].items())
    return seconds, {
        "galaxies": results["data"]["n_galaxies"],
        "seconds by stage": stages,
        "chosen n_latent": results["latent_dimension"]["chosen"],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="CPU sizes: check the script works"
    )
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument(
        "--only", help="comma-separated checks: fit,fit-compile,encode,ddp,pickle,study"
    )
    parser.add_argument(
        "--limit", type=float, default=240.0, help="seconds per check (default 240)"
    )
    args = parser.parse_args(argv)
    sizes = SIZES["smoke" if args.smoke else "full"]
    checks = {
        "fit": lambda w: check_fit(sizes, w, args.limit, False),
        "fit-compile": lambda w: check_fit(sizes, w, args.limit, True),
        "encode": lambda w: check_encode(sizes, w, args.limit),
        "ddp": lambda w: check_ddp(sizes, w, args.limit),
        "pickle": lambda w: check_pickle(sizes, w, args.limit),
        "study": lambda w: check_study(sizes, w, args.limit),
    }
    if args.smoke:
        del checks["fit-compile"]  # needs a compiler toolchain on the CPU
    wanted = args.only.split(",") if args.only else list(checks)
    results = {"mode": "smoke" if args.smoke else "full", "checks": {}}
    for name in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                seconds, found = checks[name](Path(tmp))
                found["seconds"] = round(seconds, 1)
                found.setdefault("passed", True)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                found = {"passed": False, "error": str(exc)[:300]}
        results["checks"][name] = found
        print(f"{name}: {'ok' if found['passed'] else 'FAILED'}", file=sys.stderr)
    print(f"\n| check | s | result | ({results['mode']} mode)\n|---|---|---|")
    for name, found in results["checks"].items():
        shown = "; ".join(
            f"{k}: {v}" for k, v in found.items()
            if not k.startswith("_") and k not in ("seconds", "passed")
        )  # fmt: skip
        status = "" if found["passed"] else "FAILED: "
        print(f"| {name} | {found.get('seconds', '-')} | {status}{shown} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0 if all(f["passed"] for f in results["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
