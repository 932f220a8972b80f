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

# %%
# A survey in a zarr store
# ------------------------
# Images and catalogue ids in one zarr group, in chunks of 256 cutouts; one
# cutout has masked (NaN) pixels.
import warnings

import matplotlib.pyplot as plt
import numpy as np
import zarr
from sklearn.pipeline import make_pipeline

from skgalvae import VAETransformer
from skgalvae._gallery import example_settings
from skgalvae.datasets import make_galaxies
from skgalvae.exceptions import UnreadableRowsWarning
from skgalvae.preprocessing import MTFStretch
from skgalvae.survey import encode_survey, read_latents

settings = example_settings("plot_encode_survey")
N_SAMPLES, EPOCHS = settings.sizes(
    full=dict(n_samples=3000, epochs=5), quick=dict(n_samples=400, epochs=1)
)
out = settings.out
data = make_galaxies(N_SAMPLES, random_state=0)
images = data.images.copy()
images[7, :, 20:24, 30:40] = np.nan
objid = 10**9 + np.arange(N_SAMPLES)
store = zarr.open_group(str(out / "survey.zarr"), mode="w")
store.create_array("images", data=images, chunks=(256, 3, 64, 64))
store.create_array("objid", data=objid)

# %%
# A model trained on a quarter of it
# ----------------------------------
# ``settings.fit(estimator, X)`` is ``estimator.fit(X)``, cached between
# documentation builds.
model = settings.fit(
    make_pipeline(
        MTFStretch(),
        VAETransformer(
            8, max_epochs=EPOCHS, batch_size=32, device=settings.device, random_state=0
        ),
    ),
    data.images[: N_SAMPLES // 4],
)


# %%
# An interrupted run
# ------------------
# A stand-in for the store whose fourth chunk read raises ``KeyboardInterrupt``,
# as Ctrl-C or a batch job's time limit would. The chunks written before it
# are complete rows of the table.
class InterruptedStore:
    """A zarr array whose fourth chunk read raises KeyboardInterrupt (Ctrl-C)."""

    def __init__(self, array):
        self.array, self.shape, self.ndim = array, array.shape, array.ndim
        self.chunk_reads = 0

    def __getitem__(self, key):
        if key.stop - key.start > 1:  # single rows are read to fingerprint it
            self.chunk_reads += 1
            if self.chunk_reads == 4:
                raise KeyboardInterrupt
        return self.array[key]


output = out / "latents.parquet"
try:
    encode_survey(
        model,
        InterruptedStore(store["images"]),
        output,
        ids=objid,
        batch_size=N_SAMPLES // 10,
        overwrite=True,
        progress=False,
    )
except KeyboardInterrupt:
    print(f"interrupted; done so far: {len(read_latents(output))} rows")

# %%
# Resuming
# --------
# The same call on the store resumes at the first chunk not done (it checks
# that the model and the source are the ones that wrote the table). The
# summary names the unreadable cutout by its id; its row keeps NaN latents and
# the reason.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UnreadableRowsWarning)  # printed below
    summary = encode_survey(  # a progress bar unless progress=False
        model,
        out / "survey.zarr",
        output,
        key="images",
        ids="objid",
        progress=False,
    )
print(summary)
latents = read_latents(output)
good = latents["error"] == ""
print(
    f"{good.sum()} of {len(latents)} rows encoded; ids in order: "
    f"{bool((latents['id'] == objid).all())}"
)

# %%
# The table read back
# -------------------
# The first two latents against the galaxies' r magnitude: brightness is
# among the first things the encoder records.
fig, ax = plt.subplots(figsize=(5, 4))
mag = data.params["mag_r"].to_numpy()[good]
points = ax.scatter(latents["vae0"][good], latents["vae1"][good], c=mag, s=4)
fig.colorbar(points, label="r magnitude")
ax.set(xlabel="vae0", ylabel="vae1", title="Latents read back from parquet")
fig.tight_layout()
fig.savefig(out / "encode_survey.png", dpi=80)
print(f"saved {out / 'encode_survey.png'}")
