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

from ._lazy_imports import lazy_attributes
from ._version import __version__

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
        "DomainAdaptedVAETransformer": "._domain_adaptation",
        "GMMVAETransformer": "._gmm_vae",
        "LatentOutlierDetector": "._outliers",
        "ReconstructionOutlierDetector": "._outliers",
        "VAETransformer": "._vae",
        "load_pretrained": "._pretrained",
        "save_pretrained": "._pretrained",
        "sharing_types": "._pretrained",
    },
    globals(),
)
