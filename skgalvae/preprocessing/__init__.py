"""Image stretches and per-band scaling, as scikit-learn transformers.

Galaxy images span orders of magnitude between a bright core and faint arms;
the study normalises each band of each cutout to [0, 1] and then applies a
midtone-transfer (MTF) stretch that lifts faint structure (the authors' code).
These transformers do that and the usual alternatives. They take image arrays
of shape (n, bands, h, w) or (n, h, w) and return float32 arrays of the same
shape, so they sit in a Pipeline in front of :class:`~skgalvae.VAETransformer`::

    make_pipeline(MTFStretch(), VAETransformer(n_latent=40))

:class:`CenterCrop` and :class:`Resize` bring cutouts of any size to the side a
model takes (a galaxy that fills the central third of a survey cutout is
cropped first, then shrunk without aliasing); they keep uint8 images uint8::

    make_pipeline(CenterCrop(141), Resize(64), VAETransformer(n_latent=40))

Given a lazy collection of files (:class:`~skgalvae.io.FITSDataset`, a list
of paths), they return a lazy :class:`~skgalvae.io.TransformedImages` that
transforms each batch as it is read, so the same Pipeline trains on a survey's
raw flux files without holding the survey in memory.
"""

from ._band_scaler import BandScaler
from ._geometry import CenterCrop, Resize
from ._stretch import AsinhStretch, AstropyStretch, MTFStretch, midtone_transfer

__all__ = [
    "AsinhStretch",
    "AstropyStretch",
    "BandScaler",
    "CenterCrop",
    "MTFStretch",
    "Resize",
    "midtone_transfer",
]
