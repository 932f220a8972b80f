"""
The built-in galaxies: every Galaxy Zoo DECaLS class, seen by both surveys
==========================================================================

Simulates the same galaxies as DECaLS and as BASS+MzLS would image them
(:func:`skgalvae.datasets.make_survey_pairs`) and draws, for each of the 26
classes of the study's nine GZD-5 questions, a few examples in both surveys:
DECaLS on the left, the same galaxies in BASS+MzLS on the right. A last row
shows cutouts with a foreground star or an instrumental defect. It also prints
how well the labels derived from simulated volunteer votes
(:func:`skgalvae.labels.gzd5_labels`) agree with the truth.

Run::

    python examples/plot_galaxy_zoo.py              # a few seconds
    python examples/plot_galaxy_zoo.py --size 256   # the study's resolution
"""

import argparse
from pathlib import Path

import numpy as np

from skgalvae.datasets import make_survey_pairs
from skgalvae.labels import GZD5_QUESTIONS, gzd5_labels
from skgalvae.plotting import plot_image_grid


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="The built-in galaxies: every Galaxy Zoo DECaLS class, both surveys"
    )
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--n-samples", type=int, default=1500)
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--out", default="example_output", help="output directory")
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n_samples = 300 if args.quick else args.n_samples
    decals, bass = make_survey_pairs(n_samples, image_size=args.size, random_state=0)

    rows, names = [], []
    for name, question in GZD5_QUESTIONS.items():
        for cls in question.classes:
            # Clean examples: no foreground star or defect.
            clean = (~decals.params["star"]) & (decals.params["defect"] == "none")
            idx = np.flatnonzero((decals.labels[name] == cls) & clean)
            idx = idx[: args.per_class]
            rows.append(np.concatenate([decals.images[idx], bass.images[idx]]))
            names.append(f"{name}: {cls}")
    flagged = np.flatnonzero(
        decals.params["star"] | (decals.params["defect"] != "none")
    )
    flagged = flagged[: args.per_class]
    rows.append(np.concatenate([decals.images[flagged], bass.images[flagged]]))
    names.append("star / defect")

    columns = ["DECaLS"] * args.per_class + ["BASS+MzLS"] * args.per_class
    fig = plot_image_grid(rows, row_labels=names, column_labels=columns)
    path = out / f"galaxy_zoo_classes_{args.size}.png"
    fig.savefig(path, dpi=80, bbox_inches="tight")
    print(f"saved {path}")

    derived = gzd5_labels(decals.votes)
    print("labels from simulated votes vs truth:")
    for name in GZD5_QUESTIONS:
        truth = decals.labels[name]
        both = derived[name].notna() & truth.notna()
        agree = (derived[name][both] == truth[both]).mean()
        print(
            f"  {name:14s} labelled {both.sum():4d} of {truth.notna().sum():4d}, "
            f"agree {agree:.1%}"
        )


if __name__ == "__main__":
    main()
