"""Survey scale: encode more galaxies than fit in memory, on one machine or many.

:func:`encode_survey` streams a survey (zarr, HDF5, FITS files, a dask array)
through a fitted VAE into a latent table on disk (zarr or parquet), in
chunks that are committed atomically so an interrupted run resumes where it
stopped; :func:`read_latents` reads the table back, :func:`latents_to_table`
makes it an astropy Table and :func:`write_latents` writes it to FITS or
ECSV. :func:`encode_dask` encodes a dask array of images block by block, on a
``dask.distributed`` cluster when one is active.
"""

from ._dask import encode_dask
from ._encode import EncodingSummary, encode_survey
from ._read import read_latents
from ._tables import latents_to_table, write_latents

__all__ = [
    "EncodingSummary",
    "encode_dask",
    "encode_survey",
    "latents_to_table",
    "read_latents",
    "write_latents",
]
