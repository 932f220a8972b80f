"""Time the ``skgalvae`` command's start against a bare Python start.

Target: ``skgalvae --help`` and ``skgalvae --version`` come back within 3x of
``python -c "import argparse"``, measured side by side in one run (the
median of ``--repeats`` runs each, in fresh processes).

Run::

    python benchmarks/bench_cli.py
    python benchmarks/bench_cli.py --repeats 20
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _median_seconds(command, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--target", type=float, default=3.0, help="ratio")
    args = parser.parse_args(argv)
    entry = shutil.which("skgalvae")
    cli = [entry] if entry else [sys.executable, "-m", "skgalvae"]
    reference = _median_seconds([sys.executable, "-c", "import argparse"], args.repeats)
    rows = [("python -c 'import argparse'", reference)]
    for flags in (["--help"], ["--version"], ["study", "--help"]):
        seconds = _median_seconds([*cli, *flags], args.repeats)
        rows.append((f"skgalvae {' '.join(flags)}", seconds))
    print(f"| command | median s | vs bare Python (target <= {args.target:g}x) |")
    print("|---|---|---|")
    for name, seconds in rows:
        print(f"| `{name}` | {seconds:.3f} | {seconds / reference:.1f}x |")
    worst = max(seconds for _, seconds in rows[1:]) / reference
    print(f"\nworst ratio {worst:.1f}x: {'met' if worst <= args.target else 'MISSED'}")


if __name__ == "__main__":
    main()
