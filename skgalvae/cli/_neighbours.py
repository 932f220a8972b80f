"""``skgalvae neighbours``: the galaxies most like given ones, as a table and a grid."""

from __future__ import annotations

import os
import sys

from ._common import (
    SOURCE_HELP,
    UsageError,
    load_model,
    positive_int,
    reports_user_errors,
)

__all__ = ["add_parser", "run"]


def add_parser(commands) -> None:
    """Add the ``neighbours`` sub-command to ``commands`` (argparse subparsers)."""
    neighbours = commands.add_parser(
        "neighbours",
        help="find the galaxies most like given ones in latent space",
        description=(
            "Print the K nearest galaxies in latent space to each QUERY id, as "
            "CSV (query_id, rank, id, distance), nearest first. LATENTS is a table "
            "written by 'skgalvae encode' (.zarr or .parquet) or write_latents "
            "(.fits or .ecsv), or a fitted model (a joblib file or a "
            "save_pretrained directory), which then encodes the images of --images. "
            "With --images and --grid, draws each query and its neighbours."
        ),
    )
    neighbours.add_argument(
        "latents",
        help="a latent table (.zarr, .parquet, .fits, .ecsv), or a model "
        "(model.joblib or a save_pretrained directory)",
    )
    neighbours.add_argument("query", nargs="+", help="id(s) of the query galaxies")
    neighbours.add_argument(
        "-k", type=positive_int, default=10, help="neighbours per query (default 10)"
    )
    neighbours.add_argument(
        "--metric", default="euclidean", help="distance (default euclidean; cosine)"
    )
    neighbours.add_argument(
        "--standardize",
        action="store_true",
        help="scale every latent to unit spread before searching",
    )
    neighbours.add_argument(
        "--invariant",
        action="store_true",
        help="with a model: average the latents over flips and quarter turns, "
        "so neighbours are alike whatever their orientation",
    )
    neighbours.add_argument(
        "--images", help=f"the images, in the table's order: {SOURCE_HELP}"
    )
    neighbours.add_argument("--key", help="the image array inside the store")
    neighbours.add_argument("--ids", help="an id array inside the store (a model)")
    neighbours.add_argument("--grid", help="draw the neighbours into this PNG file")
    neighbours.set_defaults(run=run)


def _table_from_model(args):
    """Encode ``--images`` with the model in ``args.latents``; return a table."""
    import numpy as np
    import pandas as pd

    from ..survey._ids import resolve_ids

    if args.images is None:
        raise UsageError(
            f"{args.latents} is a model: pass --images with the images to search."
        )
    model = load_model(args.latents)
    reader, container = _open_images(args)
    try:
        ids = resolve_ids(args.ids, reader, container)[:]
        block = reader.read(0, reader.n_rows)
    finally:
        reader.close()
    ok = block.ok
    if not ok.any():
        first = min(block.errors)
        raise UsageError(
            f"no image of {args.images} could be read; row {first}: "
            f"{block.errors[first]}"
        )
    if args.invariant:
        from ..inspection import invariant_latents

        encoded = invariant_latents(model, block.images[ok])
    else:
        encoded = model.transform(block.images[ok])
    Z = np.full((reader.n_rows, encoded.shape[1]), np.nan)
    Z[ok] = encoded
    table = pd.DataFrame(Z, columns=[f"latent{i}" for i in range(Z.shape[1])])
    table.insert(0, "id", ids)
    for name, values in block.columns.items():
        table[name] = values
    table["error"] = [block.errors.get(i, "") for i in range(reader.n_rows)]
    return table


def _open_images(args):
    from ..io._sources import open_source

    return open_source(args.images, key=args.key)


def _query_rows(table, queries):
    """Row positions of the query ids; ids compare as text, as typed."""
    text_ids = table["id"].astype(str).to_numpy()
    position = {value: row for row, value in enumerate(text_ids)}
    missing = [q for q in queries if q not in position]
    if missing:
        example = ", ".join(text_ids[:3])
        raise UsageError(
            f"id(s) {', '.join(missing)} are not in {len(text_ids)} rows of "
            f"latents (its ids look like: {example})."
        )
    return [position[q] for q in queries]


def _draw_grid(args, table, found, rows):
    """Read the query and neighbour images and save them as a PNG grid."""
    import numpy as np

    from ..plotting import plot_image_grid

    reader, _ = _open_images(args)
    try:
        if reader.n_rows != len(table):
            raise UsageError(
                f"--images has {reader.n_rows} rows but the latents {len(table)}: "
                "the grid needs the images the table was encoded from, in order."
            )
        grid, labels = [], []
        for query in rows:
            mine = found[found["query"] == query]
            picks = [query, *mine["row"]]
            images = np.stack([reader.read(r, r + 1).images[0] for r in picks])
            if images.dtype == np.uint8 and images.shape[1] == 3:
                images = images[:, ::-1]  # RGB pictures: the plot takes z, r, g
            grid.append(images)
            labels.append(str(table["id"].iloc[query]))
    finally:
        reader.close()
    import matplotlib

    matplotlib.use("Agg")
    columns = ["query"] + [f"{rank}" for rank in range(1, args.k + 1)]
    figure = plot_image_grid(grid, row_labels=labels, column_labels=columns)
    figure.savefig(args.grid, dpi=80)


@reports_user_errors
def run(args) -> int:
    """Run ``skgalvae neighbours`` from parsed arguments; print CSV to stdout."""
    from ..inspection import similar_galaxies

    is_model = args.latents.lower().endswith((".joblib", ".pkl", ".pickle")) or (
        os.path.isfile(os.path.join(args.latents, "config.json"))
    )
    if args.key is not None and args.images is None:
        raise UsageError("--key names the image array of --images: pass --images.")
    if args.invariant and not is_model:
        raise UsageError(
            f"--invariant encodes the images anew: give a model, not the table "
            f"{args.latents}."
        )
    if args.ids is not None and not is_model:
        raise UsageError(
            f"--ids names the ids of --images for a model; the table "
            f"{args.latents} has its own ids."
        )
    if is_model:
        table = _table_from_model(args)
    else:
        from ..survey import read_latents

        if not os.path.exists(args.latents):
            raise UsageError(f"latents {args.latents} does not exist.")
        table = read_latents(args.latents)
    if args.grid is not None and args.images is None:
        raise UsageError("--grid draws the images: pass --images too.")
    rows = _query_rows(table, args.query)
    found = similar_galaxies(
        table,
        rows,
        n_neighbors=args.k,
        metric=args.metric,
        standardize=args.standardize,
    )
    found.insert(0, "query_id", table["id"].to_numpy()[found["query"].to_numpy()])
    found[["query_id", "rank", "id", "distance"]].to_csv(
        sys.stdout, index=False, float_format="%.6g"
    )
    if args.grid is not None:
        _draw_grid(args, table, found, rows)
        print(f"wrote {args.grid}", file=sys.stderr)
    return 0
