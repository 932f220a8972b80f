"""Built-in data: generated images that need no download."""

from ._blobs import make_blobs_images

__all__ = ["make_blobs_images"]
