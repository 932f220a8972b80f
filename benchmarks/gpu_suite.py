"""Every GPU check in one run: one table, one JSON file, written as it goes.

On a CUDA machine (at most 8 minutes on one H100/H200)::

    python benchmarks/gpu_suite.py --json gpu_suite.json

runs, in this order, each check in a process group of its own that is killed
whole when its time is up:

1. ``fit``: ``bench_fit.py --device cuda`` at 3x256x256, batch 512 -- fit and
   transform images/s against the plain PyTorch loop (bf16, channels_last,
   cuDNN autotuning, in the same process), domain adaptation pairs/s;
2. ``layout``: the same fit without channels_last, to decide whether the
   memory format pays for the default (residual, GroupNorm) network;
3. ``ddp``: a two-process ``torchrun`` fit (NCCL with two GPUs, else gloo on
   one) that must match the one-process fit;
4. ``pickle``: a pipeline fitted on the GPU, pickled, restored in a process
   that sees no GPU, with equal transforms (to 1 % of the latents' scale:
   cuDNN's TF32 convolutions round differently from the CPU);
5. ``encode``: ``bench_encode.py --size 256 --device cuda`` --
   ``encode_survey`` against in-memory ``transform``, img/s and peak RSS;
6. ``fit-compile``: the fit check with ``--compile``;
7. ``study``: ``skgalvae study`` at 128x128 on as many simulated galaxies as
   the time left allows, timed by stage.

The budgets (``BUDGETS``) are estimates until a GPU run has measured the
checks; each run records every check's seconds, and ``--budget`` scales them
to the time at hand. The JSON file (and a Markdown table beside it) is
rewritten after every check, so a run cut short keeps what it measured; a
check that raises, fails or hangs is recorded as failed and the next one
runs.

``--smoke`` runs the same checks at CPU sizes in a few minutes (CI runs it),
so the script stays working until a GPU is at hand. ``--only _raise,_hang``
runs two checks of the suite itself: one that raises and one that hangs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SIZES = {
    "full": dict(
        device="cuda", size=256, fit_n=8192, batch=512, epochs=3,
        encode_n=40000, encode_small=10000, encode_base=2048,
        fit_check_n=2048, study_size=128, study_config=None,
    ),
    "smoke": dict(
        device="cpu", size=64, fit_n=32, batch=16, epochs=2,
        encode_n=64, encode_small=32, encode_base=16,
        fit_check_n=32, study_size=64, study_config="tiny",
    ),
}  # fmt: skip

#: Seconds each check may take on an H100/H200 (estimates until measured);
#: the study takes what the others leave. They add up to 8 minutes.
BUDGETS = {
    "fit": 90,
    "layout": 45,
    "ddp": 45,
    "pickle": 40,
    "encode": 60,
    "fit-compile": 110,
    "study": 90,
}
#: Smoke-mode budgets, from the smoke run on 2 CPU cores (with a margin).
SMOKE_BUDGETS = {
    "fit": 240,
    "layout": 240,
    "ddp": 120,
    "pickle": 90,
    "encode": 240,
    "fit-compile": 300,
    "study": 240,
}
#: Seconds a check may run past its budget to report what it found.
GRACE_S = 5
#: Galaxies simulated per second of the study check's budget at 128x128
#: (rendering and every stage's fits), an estimate for a 16-core GPU host.
STUDY_GALAXIES_PER_S = 12

# Fit in this process and under torchrun (two processes); compare the latents.
_DDP_SCRIPT = """
import os, sys, joblib, numpy as np, torch, torch.distributed as dist
from skgalvae import VAETransformer
device, n, size, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
X = np.random.default_rng(0).random((n, 3, size, size), dtype=np.float32)
params = dict(n_latent=8, max_epochs=2, batch_size=32, random_state=0,
              precision="float32", compile=False)
under_torchrun = "LOCAL_RANK" in os.environ
if under_torchrun:
    two_gpus = device.startswith("cuda") and torch.cuda.device_count() > 1
    dist.init_process_group("nccl" if two_gpus else "gloo")
Z = VAETransformer(**params, device=device).fit(X).transform(X)
if under_torchrun:
    rank = dist.get_rank()
    dist.destroy_process_group()
    if rank:
        sys.exit(0)
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
print(float(np.abs(pipe.transform(X) - Z).max()), float(np.abs(Z).max()))
"""

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

# The full run's study: the package's model, two latent widths, short fits.
_GPU_STUDY = """
latents = [10, 40]
models = ["skgalvae"]
epochs = 4
final_epochs = 8
n_pairs = 500
da_epochs = 4
"""


class Deadline:
    """The time a check has left; every command it runs stops by then."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return max(self.end - time.monotonic(), 0.0)


def _run(command, deadline, env=None):
    """Run a command in the check's process group; return (seconds, stdout).

    Raises RuntimeError with the end of its stderr when it fails, and
    TimeoutError when the check's time runs out.
    """
    start = time.perf_counter()
    limit = deadline.left()
    if limit <= 0:
        raise TimeoutError("no time left for the next command")
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=limit, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError(f"{Path(command[1]).name} ran past {limit:.0f} s") from exc
    if result.returncode:
        lines = (result.stderr or result.stdout or "").strip().splitlines()
        last = lines[-1] if lines else f"exit status {result.returncode}"
        raise RuntimeError(last[:300])
    return time.perf_counter() - start, result.stdout


def _fit_command(sizes, out, *extra):
    return [
        sys.executable, str(HERE / "bench_fit.py"), "--device", sizes["device"],
        "--image-size", str(sizes["size"]), "--n-samples", str(sizes["fit_n"]),
        "--batch-size", str(sizes["batch"]), "--epochs", str(sizes["epochs"]),
        "--json", str(out), *extra,
    ]  # fmt: skip


def check_fit(sizes, work, deadline, *extra):
    out = work / "fit.json"
    seconds, _ = _run(_fit_command(sizes, out, *extra), deadline)
    r = json.loads(out.read_text())
    return seconds, {
        "fit img/s (vs plain loop)": f"{r['fit_vae_img_s']:,.0f} "
        f"({r['fit_ratio']:.2f}x)",
        "transform img/s (vs plain)": f"{r['transform_vae_img_s']:,.0f} "
        f"({r['transform_ratio']:.2f}x)",
        "DA pairs/s (vs VAE img/s)": f"{r['fit_da_pairs_s']:,.0f} "
        f"({r['da_pairs_per_vae_img']:.2f}x)",
        "anchored DA pairs/s (vs VAE img/s)": f"{r['fit_da_anchored_pairs_s']:,.0f} "
        f"({r['da_anchored_pairs_per_vae_img']:.2f}x)",
        "precision": r["precision"],
        "channels_last": r["channels_last"],
        "_raw": r,
    }


def check_layout(sizes, work, deadline):
    seconds, found = check_fit(
        sizes, work, deadline, "--channels-last", "off", "--no-variants"
    )
    found["note"] = "compare fit img/s with the fit check's (channels_last)"
    return seconds, found


def check_ddp(sizes, work, deadline):
    script = work / "ddp_fit.py"
    script.write_text(textwrap.dedent(_DDP_SCRIPT))
    n, size, device = str(sizes["fit_check_n"]), "64", sizes["device"]
    single, ddp = work / "single.joblib", work / "ddp.joblib"
    seconds, _ = _run(
        [sys.executable, str(script), device, n, size, str(single)], deadline
    )
    more, _ = _run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc_per_node=2", str(script), device, n, size, str(ddp)],
        deadline,
    )  # fmt: skip
    import joblib
    import numpy as np

    gap = float(np.abs(joblib.load(single) - joblib.load(ddp)).max())
    return seconds + more, {
        "max latent difference, 2-process DDP vs one process": f"{gap:.2e}",
        "passed": gap < 1e-3,
    }


def check_pickle(sizes, work, deadline):
    fit, load = work / "pickle_fit.py", work / "pickle_load.py"
    fit.write_text(textwrap.dedent(_PICKLE_FIT))
    load.write_text(textwrap.dedent(_PICKLE_LOAD))
    stored = work / "pipeline.joblib"
    n, device = str(sizes["fit_check_n"]), sizes["device"]
    seconds, _ = _run(
        [sys.executable, str(fit), device, n, "64", str(stored)], deadline
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    more, stdout = _run([sys.executable, str(load), str(stored)], deadline, env=env)
    gap, scale = (float(v) for v in stdout.strip().splitlines()[-1].split())
    return seconds + more, {
        "max transform difference, restored on CPU": f"{gap:.2e} "
        f"(latents up to {scale:.2f})",
        "passed": gap <= 1e-2 * max(scale, 1.0),
    }


def check_encode(sizes, work, deadline):
    command = [
        sys.executable, str(HERE / "bench_encode.py"), "--size", str(sizes["size"]),
        "--device", sizes["device"], "--n", str(sizes["encode_n"]),
        "--n-small", str(sizes["encode_small"]), "--base", str(sizes["encode_base"]),
        "--workdir", str(work),
    ]  # fmt: skip
    seconds, stdout = _run(command, deadline)
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


def study_size(sizes, seconds_left):
    """Galaxies the study check simulates: what its time allows."""
    if sizes["study_config"] == "tiny":
        return 120
    return int(min(20000, max(400, STUDY_GALAXIES_PER_S * seconds_left)))


def check_study(sizes, work, deadline):
    out = work / "study"
    config = work / "study.toml"
    config.write_text(_TINY_STUDY if sizes["study_config"] == "tiny" else _GPU_STUDY)
    n = study_size(sizes, deadline.left())
    command = [
        sys.executable, "-m", "skgalvae", "study",
        "--image-size", str(sizes["study_size"]), "--n-samples", str(n),
        "--device", sizes["device"], "--config", str(config),
        "--out", str(out), "--no-cache", "--quiet",
    ]  # fmt: skip
    seconds, _ = _run(command, deadline)
    results = json.loads((out / "results.json").read_text())
    stages = ", ".join(f"{k} {v:.0f}" for k, v in results["timings_s"].items())
    return seconds, {
        "galaxies": results["data"]["n_galaxies"],
        "seconds by stage": stages,
        "chosen n_latent": results["latent_dimension"]["chosen"],
    }


def check_raise(sizes, work, deadline):
    """A check of the suite itself: it raises."""
    raise IndexError("a check that raises (the suite records it and goes on)")


def check_hang(sizes, work, deadline):
    """A check of the suite itself: it never ends, nor does its child.

    The child's command line ends with ``$GPU_SUITE_HANG_MARK``, so that a
    test can see that it was killed too.
    """
    mark = os.environ.get("GPU_SUITE_HANG_MARK", "hang")
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", mark])
    while True:
        time.sleep(1)


CHECKS = {
    "fit": check_fit,
    "layout": check_layout,
    "ddp": check_ddp,
    "pickle": check_pickle,
    "encode": check_encode,
    "fit-compile": lambda sizes, work, deadline: check_fit(
        sizes, work, deadline, "--compile", "--no-variants"
    ),
    "study": check_study,
    "_raise": check_raise,
    "_hang": check_hang,
}
#: The checks a plain run makes, in order (the ``_`` ones test the suite).
ORDER = [name for name in CHECKS if not name.startswith("_")]


def run_one(name, mode, seconds, out):
    """Run check ``name`` in this process; write what it found to ``out``."""
    sizes = SIZES[mode]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            took, found = CHECKS[name](sizes, Path(tmp), Deadline(seconds))
            found["seconds"] = round(took, 1)
            found.setdefault("passed", True)
        except Exception as exc:  # every failure is a result
            found = {"passed": False, "error": f"{type(exc).__name__}: {exc}"[:400]}
    Path(out).write_text(json.dumps(found, default=str))


def _kill_group(process):
    """Kill a check's whole process group (its torchrun, workers, children)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def run_isolated(name, mode, seconds):
    """Run check ``name`` in a new process group; kill it all at its limit."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "found.json"
        command = [
            sys.executable, __file__, "--run-one", name, "--mode", mode,
            "--seconds", str(seconds), "--out", str(out),
        ]  # fmt: skip
        process = subprocess.Popen(command, start_new_session=True)
        try:
            # A little grace beyond the check's own deadline, for its report.
            process.wait(timeout=seconds + GRACE_S)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return {
                "passed": False,
                "error": f"timed out after {seconds:.0f} s; its processes were killed",
                "seconds": round(time.monotonic() - start, 1),
            }
        _kill_group(process)  # anything it left behind
        if not out.exists():
            return {
                "passed": False,
                "error": f"the check's process ended ({process.returncode}) "
                f"without a result",
            }
        return json.loads(out.read_text())


def table(results):
    """The Markdown table of the results so far."""
    lines = [
        f"| check | s | result | ({results['mode']} mode, {results['device']})",
        "|---|---|---|",
    ]
    for name, found in results["checks"].items():
        shown = "; ".join(
            f"{k}: {v}" for k, v in found.items()
            if not k.startswith("_") and k not in ("seconds", "passed")
        )  # fmt: skip
        status = "" if found["passed"] else "FAILED: "
        lines.append(f"| {name} | {found.get('seconds', '-')} | {status}{shown} |")
    return "\n".join(lines)


def _write(results, json_path):
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=1, default=str))
        Path(json_path).with_suffix(".md").write_text(table(results) + "\n")


def _device_name(mode):
    if mode == "smoke":
        return "cpu"
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="CPU sizes: check the script works"
    )
    parser.add_argument("--json", help="write the results to this file as they come")
    parser.add_argument(
        "--only", help=f"comma-separated checks, of {','.join(CHECKS)} (in order)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds for the whole run (default: the sum of the checks' budgets, "
        "480 on a GPU); each check's budget is scaled to it",
    )
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_one:
        run_one(args.run_one, args.mode, args.seconds, args.out)
        return 0

    mode = "smoke" if args.smoke else "full"
    budgets = SMOKE_BUDGETS if args.smoke else BUDGETS
    wanted = args.only.split(",") if args.only else ORDER
    unknown = [name for name in wanted if name not in CHECKS]
    if unknown:
        parser.error(f"unknown check(s) {unknown}; choose from {list(CHECKS)}")
    planned = {name: budgets.get(name, 30) for name in wanted}
    total = args.budget or sum(planned.values())
    scale = total / sum(planned.values())
    results = {"mode": mode, "device": _device_name(mode), "checks": {}}
    results["budget_s"] = round(total)
    run_start = time.monotonic()
    for index, name in enumerate(wanted):
        left = total - (time.monotonic() - run_start)
        still = sum(planned[n] for n in wanted[index + 1 :]) * scale
        # The last check takes what is left; the others their share of it.
        seconds = left
        if index < len(wanted) - 1:
            seconds = min(planned[name] * scale, left - still)
        if seconds < 5:
            found = {"passed": False, "error": "skipped: no time left in the budget"}
        else:
            found = run_isolated(name, mode, seconds)
            found["budget_s"] = round(seconds)
        results["checks"][name] = found
        _write(results, args.json)
        status = "ok" if found["passed"] else f"FAILED ({found.get('error', '')})"
        print(f"{name}: {status}", file=sys.stderr, flush=True)
    print("\n" + table(results))
    return 0 if all(f["passed"] for f in results["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
