"""skgalvae: scikit-learn compatible variational autoencoders for galaxy images.

The estimators are :class:`VAETransformer` and, across surveys,
:class:`DomainAdaptedVAETransformer`, and :class:`LatentOutlierDetector`
finds galaxies far out in latent space; the torch layer lives in
:mod:`skgalvae.nn`, metrics in :mod:`skgalvae.metrics` and data in
:mod:`skgalvae.datasets`.
"""

from ._domain_adaptation import DomainAdaptedVAETransformer
from ._gmm_vae import GMMVAETransformer
from ._outliers import LatentOutlierDetector, ReconstructionOutlierDetector
from ._vae import VAETransformer
from ._version import __version__

__all__ = [
    "DomainAdaptedVAETransformer",
    "GMMVAETransformer",
    "LatentOutlierDetector",
    "ReconstructionOutlierDetector",
    "VAETransformer",
    "__version__",
]
