"""``skgalvae encode``: a survey through a fitted model into a latent table."""

from __future__ import annotations

import os
import sys

from ._common import (
    SOURCE_HELP,
    check_output_directory,
    load_model,
    positive_int,
    reports_user_errors,
)

__all__ = ["add_parser", "run"]


def add_parser(commands) -> None:
    """Add the ``encode`` sub-command to ``commands`` (argparse subparsers)."""
    encode = commands.add_parser(
        "encode",
        help="encode a survey into a latent table on disk, resumably",
        description=(
            "Encode every image of SOURCE with the fitted model in MODEL (a "
            "joblib file of a VAE or a Pipeline ending in one) into OUTPUT (a "
            ".zarr group or .parquet directory), chunk by chunk with bounded "
            "memory. Run the same command again to resume an interrupted run. "
            "Rows that cannot be read keep NaN latents and are listed by id."
        ),
    )
    encode.add_argument(
        "model", help="the fitted model: a joblib file or a save_pretrained directory"
    )
    encode.add_argument("source", help=SOURCE_HELP)
    encode.add_argument("output", help="latents.zarr or latents.parquet")
    encode.add_argument("--key", help="the image array inside the store")
    encode.add_argument("--ids", help="an id array inside the store")
    encode.add_argument(
        "--batch-size", type=positive_int, help="rows per chunk (default 4096)"
    )
    encode.add_argument("--std", action="store_true", help="also write the sigmas")
    encode.add_argument(
        "--overwrite", action="store_true", help="start again instead of resuming"
    )
    encode.add_argument("--quiet", action="store_true", help="no progress bar")
    encode.set_defaults(run=run)


@reports_user_errors
def run(args) -> int:
    """Run ``skgalvae encode`` from parsed arguments; print the summary."""
    from ..survey import encode_survey

    model = load_model(args.model)
    parent = os.path.dirname(os.path.abspath(args.output))
    check_output_directory(parent, option="OUTPUT's directory")
    summary = encode_survey(
        model,
        args.source,
        args.output,
        key=args.key,
        ids=args.ids,
        batch_size=args.batch_size,
        std=args.std,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(summary, file=sys.stderr)
    return 0
