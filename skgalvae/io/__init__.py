"""Reading galaxy cutouts: FITS, JPEG and PNG files, zarr and HDF5 stores.

:func:`read_fits` and :func:`read_images` load a list of files into one array.
:class:`FITSDataset` and :class:`ImageFileDataset` are lazy array-likes of the
same files: pass them as ``X`` to the estimators to stream batches from disk
with reader processes, so a survey never has to fit in memory; a stretch or
resize in front of the VAE returns a :class:`TransformedImages` that applies
itself to each batch as it is read.
:func:`path_format` is the one place a path's suffix is interpreted, and
:func:`read_path_list` reads a text file listing cutouts; everything in
skgalvae that opens images by name goes through this module.
"""

from ._fits import read_fits_file
from ._fits_dataset import FITSDataset
from ._fits_meta import read_fits_header
from ._formats import FORMATS, path_format, read_path_list, register_format
from ._images import ImageFileDataset, read_image_file
from ._lazy import LazyImages, is_lazy, lazy_from_paths
from ._readers import read_fits, read_images
from ._transformed import TransformedImages

__all__ = [
    "FORMATS",
    "FITSDataset",
    "ImageFileDataset",
    "LazyImages",
    "TransformedImages",
    "is_lazy",
    "lazy_from_paths",
    "path_format",
    "register_format",
    "read_fits",
    "read_fits_file",
    "read_fits_header",
    "read_image_file",
    "read_images",
    "read_path_list",
]
