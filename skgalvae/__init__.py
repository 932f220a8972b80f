"""skgalvae: scikit-learn compatible variational autoencoders for galaxy images.

The estimators are :class:`VAETransformer` and, across surveys,
:class:`DomainAdaptedVAETransformer`, and :class:`LatentOutlierDetector`
finds galaxies far out in latent space; the torch layer lives in
:mod:`skgalvae.nn`, metrics in :mod:`skgalvae.metrics` and data in
:mod:`skgalvae.datasets`.
"""

__version__ = "0.1.0"

from ._domain_adaptation import DomainAdaptedVAETransformer  # noqa: E402
from ._gmm_vae import GMMVAETransformer  # noqa: E402
from ._outliers import LatentOutlierDetector, ReconstructionOutlierDetector  # noqa: E402
from ._vae import VAETransformer  # noqa: E402

__all__ = [
    "DomainAdaptedVAETransformer",
    "GMMVAETransformer",
    "LatentOutlierDetector",
    "ReconstructionOutlierDetector",
    "VAETransformer",
    "__version__",
]
