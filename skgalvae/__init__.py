"""skgalvae: scikit-learn compatible variational autoencoders for galaxy images.

The estimators are :class:`VAETransformer` and, across surveys,
:class:`DomainAdaptedVAETransformer`, and :class:`LatentOutlierDetector`
finds galaxies far out in latent space. :func:`save_pretrained` and
:func:`load_pretrained` share fitted models safely; the torch layer lives in
:mod:`skgalvae.nn`, metrics in :mod:`skgalvae.metrics` and data in
:mod:`skgalvae.datasets`.

The estimators are imported on first use, so that ``import skgalvae`` (and
the ``skgalvae`` command's ``--help``) does not load torch.
"""

from ._version import __version__
from .utils._lazy_imports import lazy_attributes

__all__ = [
    "DomainAdaptedVAETransformer",
    "GMMVAETransformer",
    "LatentOutlierDetector",
    "ReconstructionOutlierDetector",
    "VAETransformer",
    "__version__",
    "load_pretrained",
    "save_pretrained",
    "sharing_types",
]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "DomainAdaptedVAETransformer": ".vae._domain_adaptation",
        "GMMVAETransformer": ".vae._gmm_vae",
        "LatentOutlierDetector": ".vae._outliers",
        "ReconstructionOutlierDetector": ".vae._outliers",
        "VAETransformer": ".vae._vae",
        "load_pretrained": ".sharing",
        "save_pretrained": ".sharing",
        "sharing_types": ".sharing",
    },
    globals(),
)
