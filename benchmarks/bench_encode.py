"""Out-of-core encoding: ``encode_survey`` from a zarr store vs in-memory transform.

A synthetic survey of ``--n`` simulated galaxies (``make_galaxies`` rendered
once for ``--base`` galaxies, MTF-stretched to uint8 like Galaxy Zoo's
JPEGs, then tiled with random flips and quarter turns) is written to a zarr
store, and a smaller store of ``--n-small`` rows beside it. A VAE
(study architecture, 40 latents) is fitted briefly on the base galaxies;
its weights do not matter for speed.

Each measurement runs in a fresh process, so its peak RSS is its own:

- ``in-memory``: the store read whole into a numpy array (not timed), then
  ``vae.transform`` (the reference path, timed);
- ``encode_survey``: the store streamed to a parquet directory, chunk by
  chunk, with one reader thread ahead of the encoder (reading, decompressing
  and writing all timed).

Reported: images/s, the ratio to the in-memory throughput at the same N,
and peak RSS, at both sizes of N. The target: throughput close to the
in-memory path, and RSS flat in N (the in-memory path's grows with N).

Run::

    python benchmarks/bench_encode.py                    # 100k at 64x64, CPU
    python benchmarks/bench_encode.py --quick            # 4k/2k, a smoke run
    python benchmarks/bench_encode.py --size 256 --device cuda   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

BATCH_ROWS = 2048


def _rss_mb():
    """Current resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRSS:
    """Sample the RSS every 20 ms in a thread; ``peak`` is the largest seen.

    ``ru_maxrss`` would also count the peak of the set-up before the timed
    part; this measures the timed part alone.
    """

    def __enter__(self):
        self.peak = self.start = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def measurement(mode, n, seconds, rss, **extra) -> dict:
    """One measured row: speed and the peak RSS of the measured part."""
    return {
        "mode": mode,
        "n": n,
        "seconds": seconds,
        "images_per_s": n / seconds,
        "rss_before_mb": rss.start,
        "peak_rss_mb": rss.peak,
        **extra,
    }


def run_worker(command) -> dict:
    """Run one measurement in a fresh process; print and return its row."""
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def make_store(path, n_rows, base, seed):
    """Write ``n_rows`` images tiled from ``base`` with random flips/turns."""
    import zarr

    rng = np.random.default_rng(seed)
    group = zarr.open_group(str(path), mode="w")
    images = group.create_array(
        "images",
        shape=(n_rows, *base.shape[1:]),
        chunks=(BATCH_ROWS // 2, *base.shape[1:]),
        dtype="u1",
    )
    for start in range(0, n_rows, BATCH_ROWS):
        stop = min(start + BATCH_ROWS, n_rows)
        block = base[rng.integers(0, len(base), stop - start)]
        block = np.rot90(block, k=int(rng.integers(4)), axes=(2, 3))
        images[start:stop] = block[..., :: rng.choice([-1, 1])]
    group.create_array("objid", data=np.arange(n_rows, dtype=np.int64) + 10**9)


def prepare(args, workdir):
    """Render the base galaxies, write both stores, fit and save the VAE."""
    import joblib

    from skgalvae import VAETransformer
    from skgalvae.datasets import make_galaxies
    from skgalvae.preprocessing import MTFStretch

    start = time.perf_counter()
    raw = make_galaxies(args.base, image_size=args.size, random_state=0).images
    base = np.round(255 * MTFStretch().fit_transform(raw)).astype(np.uint8)
    for n in (args.n_small, args.n):
        make_store(workdir / f"survey_{n}.zarr", n, base, seed=n)
    vae = VAETransformer(
        n_latent=40, max_epochs=1, device=args.device, random_state=0
    ).fit(base)
    vae.set_params(batch_size=args.encode_batch)
    joblib.dump(vae, workdir / "vae.joblib")
    print(f"prepared in {time.perf_counter() - start:.0f} s", flush=True)


def worker(mode, n, workdir):
    """Run one measurement in this process; print it as JSON."""
    import joblib
    import torch
    import zarr

    from skgalvae.survey import encode_survey

    vae = joblib.load(workdir / "vae.joblib")
    store = workdir / f"survey_{n}.zarr"
    # Warm-up outside the timing (first-call allocations, kernel selection).
    vae.transform(zarr.open_group(str(store), mode="r")["images"][:256])
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    images = None
    if mode == "in-memory":  # the reference holds the survey in memory first
        images = zarr.open_group(str(store), mode="r")["images"][:]
    with PeakRSS() as rss:
        start = time.perf_counter()
        if images is not None:
            latents = vae.transform(images)
            assert latents.shape == (n, 40)
        else:
            summary = encode_survey(
                vae,
                store,
                workdir / f"latents_{n}.parquet",
                key="images",
                ids="objid",
                batch_size=BATCH_ROWS,
                overwrite=True,
                progress=False,
            )
            assert summary.n_encoded == n and summary.n_failed == 0
        seconds = time.perf_counter() - start
    print(json.dumps(measurement(mode, n, seconds, rss)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--n-small", type=int, default=20_000)
    parser.add_argument("--base", type=int, default=2048)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--encode-batch", type=int, default=256)
    parser.add_argument("--workdir", default=None, help="default: a temporary dir")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--worker", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), Path(args.workdir))
        return
    if args.quick:
        args.n, args.n_small, args.base = 4000, 2000, 256
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        prepare(args, workdir)
        results = []
        for n in (args.n_small, args.n):
            for mode in ("in-memory", "encode_survey"):
                command = [
                    sys.executable,
                    __file__,
                    "--workdir",
                    str(workdir),
                    "--worker",
                    mode,
                    str(n),
                ]
                results.append(run_worker(command))
    print(f"\n{args.size}x{args.size}, device={args.device}, 40 latents\n")
    print("| path | N | s | img/s | vs in-memory | RSS before (MB) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|")
    reference = {r["n"]: r["images_per_s"] for r in results if r["mode"] == "in-memory"}
    for r in results:
        ratio = r["images_per_s"] / reference[r["n"]]
        print(
            f"| {r['mode']} | {r['n']:,} | {r['seconds']:.1f} | "
            f"{r['images_per_s']:.0f} | {ratio:.2f} | {r['rss_before_mb']:.0f} | "
            f"{r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
