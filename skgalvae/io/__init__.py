"""Reading galaxy cutouts from files: FITS, JPEG and PNG, eagerly or lazily.

:func:`read_fits` and :func:`read_images` load a list of files into one array.
:class:`FITSDataset` and :class:`ImageFileDataset` are lazy array-likes of the
same files: pass them as ``X`` to the estimators to stream batches from disk
with reader processes, so a survey never has to fit in memory.
"""

from ._fits import read_fits_file
from ._images import read_image_file
from ._lazy import FITSDataset, ImageFileDataset, LazyImages, lazy_from_paths
from ._readers import read_fits, read_images

__all__ = [
    "FITSDataset",
    "ImageFileDataset",
    "LazyImages",
    "lazy_from_paths",
    "read_fits",
    "read_fits_file",
    "read_image_file",
    "read_images",
]
