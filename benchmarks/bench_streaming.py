"""Raw survey flux streamed end to end: peak memory flat in the number of files.

``--n`` FITS files of raw flux in nanomaggies (what surveys serve; the
simulator's ``make_galaxies`` output, rendered once for ``--base`` galaxies and
repeated with random flips and quarter turns) are written to one directory.
Then, each in a fresh process so that its peak RSS is its own, on the first
``--n-small`` files and on all ``--n``:

- ``fit``: ``make_pipeline(MTFStretch(), VAETransformer(40, max_epochs=1))``
  fitted on ``FITSDataset(paths)``: the stretch is applied to each batch as it
  is read (``TransformedImages``), never to the whole survey;
- ``encode``: ``encode_survey(pipeline, paths, out.parquet,
  batch_size=1024)`` with the pipeline fitted on the small set (its memory is
  a few batches, so the batch size is fixed for both sets).

Reported: seconds, images/s, the process's RSS before the measured part and
its peak during it (sampled every 20 ms), the peak of the memory numpy and
Python allocated meanwhile (``tracemalloc``: what the read path holds, free
of the allocator's fragmentation, which moves RSS by several percent from
run to run), and, for scale, the size of the stretched survey held as one
float32 array, which is what a stretch that returned arrays handed to the
VAE. The target: peak RSS within 10 % from the small to the large set.

Run::

    python benchmarks/bench_streaming.py             # 2,000 and 20,000 files, 64x64
    python benchmarks/bench_streaming.py --quick     # 200 and 2,000, a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from bench_encode import PeakRSS, measurement, run_worker


def write_files(folder, n_files, base, seed):
    """Write ``n_files`` raw-flux FITS cubes tiled from ``base``; return paths."""
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n_files):
        image = np.rot90(
            base[rng.integers(len(base))], k=int(rng.integers(4)), axes=(1, 2)
        )
        path = folder / f"galaxy_{i:06d}.fits"
        fits.PrimaryHDU(
            np.ascontiguousarray(image[..., :: rng.choice([-1, 1])])
        ).writeto(path)
        paths.append(str(path))
    return paths


def prepare(args, workdir):
    """Render the base galaxies and write the files."""
    from skgalvae.datasets import make_galaxies

    start = time.perf_counter()
    base = make_galaxies(args.base, image_size=args.size, random_state=0).images
    folder = workdir / "fits"
    folder.mkdir()
    paths = write_files(folder, args.n, base, seed=0)
    (workdir / "paths.txt").write_text("\n".join(paths) + "\n")
    print(
        f"rendered {args.base} galaxies and wrote {args.n:,} FITS files in "
        f"{time.perf_counter() - start:.0f} s",
        flush=True,
    )


def _pipeline(device):
    from sklearn.pipeline import make_pipeline

    from skgalvae import VAETransformer
    from skgalvae.preprocessing import MTFStretch

    vae = VAETransformer(n_latent=40, max_epochs=1, device=device, random_state=0)
    return make_pipeline(MTFStretch(), vae)


def worker(mode, n, args, workdir):
    """Run one measurement in this process; print it as JSON."""
    import joblib

    from skgalvae.io import FITSDataset
    from skgalvae.survey import encode_survey

    paths = (workdir / "paths.txt").read_text().split()[:n]
    files = FITSDataset(paths, num_workers=args.num_workers)
    model_path = workdir / "pipeline.joblib"
    pipeline = _pipeline(args.device) if mode == "fit" else joblib.load(model_path)
    tracemalloc.start()  # numpy's and Python's allocations (not torch's)
    with PeakRSS() as rss:
        start = time.perf_counter()
        if mode == "fit":
            pipeline.fit(files)
        else:
            summary = encode_survey(
                pipeline,
                files,
                workdir / f"latents_{n}.parquet",
                batch_size=args.encode_batch,
                overwrite=True,
                progress=False,
            )
            assert summary.n_encoded == n and summary.n_failed == 0
        seconds = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if mode == "fit" and n == args.n_small:
        joblib.dump(pipeline, model_path)
    row = measurement(
        mode,
        n,
        seconds,
        rss,
        traced_peak_mb=traced_peak / 2**20,
        array_mb=n * 3 * args.size**2 * 4 / 2**20,
    )
    print(json.dumps(row))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--n-small", type=int, default=2_000)
    parser.add_argument("--base", type=int, default=1_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument(
        "--encode-batch",
        type=int,
        default=1024,
        help="encode_survey's batch_size: its memory is a few such batches",
    )
    parser.add_argument("--workdir", default=None, help="default: a temporary dir")
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--worker", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.quick:
        args.n, args.n_small, args.base = 2_000, 200, 200
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), args, Path(args.workdir))
        return
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        prepare(args, workdir)
        results = []
        for mode in ("fit", "encode"):
            for n in (args.n_small, args.n):
                command = [sys.executable, __file__, *sys.argv[1:]]
                command += ["--workdir", str(workdir), "--worker", mode, str(n)]
                results.append(run_worker(command))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"\n{args.size}x{args.size} raw flux FITS, device={args.device}\n")
    print(
        "| step | files | s | img/s | RSS before (MB) | peak RSS (MB) | "
        "vs smaller set | numpy peak (MB) | vs smaller set | "
        "survey as one array (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    small = {r["mode"]: r for r in results if r["n"] == args.n_small}
    for r in results:
        rss_ratio = r["peak_rss_mb"] / small[r["mode"]]["peak_rss_mb"]
        traced_ratio = r["traced_peak_mb"] / small[r["mode"]]["traced_peak_mb"]
        print(
            f"| {r['mode']} | {r['n']:,} | {r['seconds']:.0f} | "
            f"{r['images_per_s']:.0f} | {r['rss_before_mb']:.0f} | "
            f"{r['peak_rss_mb']:.0f} | {rss_ratio:.2f} | "
            f"{r['traced_peak_mb']:.0f} | {traced_ratio:.2f} | {r['array_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
