"""Time the built-in galaxy simulator against its budget.

The target (issue 3): 10,000 images at 64x64 in under 60 s on 2 CPU cores,
and 256x256 works. Prints seconds and images per second for one survey and
for survey pairs (two renderings of one population).

Run::

    python benchmarks/bench_simulator.py                 # 10,000 at 64x64
    python benchmarks/bench_simulator.py --n 1000 --size 256
"""

import argparse
import os
import time

from skgalvae.datasets import make_galaxies, make_survey_pairs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds")
    args = parser.parse_args(argv)
    print(f"CPUs: {os.cpu_count()}, {args.n} images at {args.size}x{args.size}")
    for name, make in (
        ("make_galaxies", lambda: make_galaxies(args.n, image_size=args.size)),
        ("make_survey_pairs", lambda: make_survey_pairs(args.n, image_size=args.size)),
    ):
        start = time.perf_counter()
        make()
        seconds = time.perf_counter() - start
        images = args.n * (2 if name == "make_survey_pairs" else 1)
        verdict = "within" if seconds < args.budget else "OVER"
        print(
            f"{name:18s} {seconds:7.1f} s  {images / seconds:8.0f} img/s  "
            f"({verdict} the {args.budget:.0f} s budget)"
        )


if __name__ == "__main__":
    main()
