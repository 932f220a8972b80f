"""
Encoding a survey out of core: zarr in, parquet out, resumable
===============================================================

A survey too large for memory lives in a chunked store. Here it is a zarr
store of simulated g, r, z cutouts with catalogue ids; one cutout has masked
(NaN) pixels. :func:`skgalvae.survey.encode_survey` streams it through a
fitted stretch + VAE pipeline into a parquet table, chunk by chunk.

The first run is interrupted after three chunks, as by Ctrl-C or a batch job
running out of time. The same call then resumes at the first chunk not done.
The summary lists the unreadable cutout by its id, and its row keeps NaN
latents. The table is read back with :func:`~skgalvae.survey.read_latents`,
and the first two latents are drawn against the galaxies' magnitudes.

Run::

    python examples/plot_encode_survey.py            # about 1 min on 2 CPUs
    python examples/plot_encode_survey.py --quick    # seconds, a smoke run
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
import zarr
from sklearn.pipeline import make_pipeline

from skgalvae import VAETransformer
from skgalvae.datasets import make_galaxies
from skgalvae.exceptions import UnreadableRowsWarning
from skgalvae.preprocessing import MTFStretch
from skgalvae.survey import encode_survey, read_latents


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Encoding a survey out of core: zarr in, parquet out, resumable"
    )
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="example_output", help="output directory")
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    return parser.parse_args(argv)


class InterruptedStore:
    """A zarr array whose fourth read raises KeyboardInterrupt, like Ctrl-C."""

    def __init__(self, array):
        self.array, self.shape, self.ndim = array, array.shape, array.ndim
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        if self.reads == 4:
            raise KeyboardInterrupt
        return self.array[key]


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs = 400, 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # The survey: images and catalogue ids in one zarr store, one masked cutout.
    data = make_galaxies(args.n_samples, random_state=0)
    images = data.images.copy()
    images[7, :, 20:24, 30:40] = np.nan
    objid = 10**9 + np.arange(args.n_samples)
    store = zarr.open_group(str(out / "survey.zarr"), mode="w")
    store.create_array("images", data=images, chunks=(256, 3, 64, 64))
    store.create_array("objid", data=objid)

    n_train = args.n_samples // 4
    model = make_pipeline(
        MTFStretch(),
        VAETransformer(8, max_epochs=args.epochs,
                       batch_size=32, random_state=0),
    ).fit(data.images[:n_train])  # fmt: skip

    output = out / "latents.parquet"
    chunk_rows = args.n_samples // 10
    try:
        encode_survey(
            model,
            InterruptedStore(store["images"]),
            output,
            ids=objid,
            batch_size=chunk_rows,
            overwrite=True,
            progress=False,
        )
    except KeyboardInterrupt:
        print(f"interrupted; done so far: {len(read_latents(output))} rows")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableRowsWarning)  # printed below
        summary = encode_survey(  # a progress bar unless progress=False
            model, out / "survey.zarr", output, key="images", ids="objid",
            progress=False,
        )  # fmt: skip
    print(summary)

    latents = read_latents(output)
    good = latents["error"] == ""
    print(f"{good.sum()} of {len(latents)} rows encoded; ids in order: "
          f"{bool((latents['id'] == objid).all())}")  # fmt: skip

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    mag = data.params["mag_r"].to_numpy()[good]
    points = ax.scatter(latents["vae0"][good], latents["vae1"][good], c=mag, s=4)
    fig.colorbar(points, label="r magnitude")
    ax.set(xlabel="vae0", ylabel="vae1", title="Latents read back from parquet")
    fig.savefig(out / "encode_survey.png", dpi=80, bbox_inches="tight")
    print(f"saved {out / 'encode_survey.png'}")


if __name__ == "__main__":
    main()
