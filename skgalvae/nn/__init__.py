"""Torch layer of skgalvae: modules, losses, data loading and the skorch net.

Nothing in here imports the estimator layer.
"""

from .adaptation import ADAPTATIONS, coral, paired_consistency
from .architectures import (
    ARCHITECTURES,
    Architecture,
    LowPass,
    PreActResidualBlock,
    ResNetDecoder,
    ResNetEncoder,
    get_architecture,
    register_architecture,
)
from .callbacks import EpochProgressBar, KLWarmup, LatentKL, ReconstructionSSIM
from .data import ArrayDataset, DeviceBatchLoader, DomainBatchLoader, DomainDataset
from .likelihoods import (
    LIKELIHOODS,
    CalibratedLikelihood,
    Likelihood,
    SummedError,
    make_likelihood,
)
from .losses import (
    DomainAdaptationLoss,
    ELBOLoss,
    GMMELBOLoss,
    free_bits_kl,
    gmm_kl_divergence,
    gmm_log_joint,
    kl_divergence,
    kl_per_latent,
    mmd2,
    rbf_bandwidths,
    reconstruction_error,
)
from .modules import (
    ConvDecoder,
    ConvEncoder,
    DenseDecoder,
    DenseEncoder,
    DomainAdaptedVAEModule,
    GMMVAEModule,
    VAEModule,
)
from .net import VAENet

__all__ = [
    "ADAPTATIONS",
    "ARCHITECTURES",
    "LIKELIHOODS",
    "Architecture",
    "LowPass",
    "PreActResidualBlock",
    "ResNetDecoder",
    "ResNetEncoder",
    "get_architecture",
    "register_architecture",
    "ArrayDataset",
    "CalibratedLikelihood",
    "LatentKL",
    "Likelihood",
    "SummedError",
    "free_bits_kl",
    "kl_per_latent",
    "make_likelihood",
    "ConvDecoder",
    "ConvEncoder",
    "DenseDecoder",
    "DenseEncoder",
    "DeviceBatchLoader",
    "DomainAdaptationLoss",
    "DomainAdaptedVAEModule",
    "DomainBatchLoader",
    "DomainDataset",
    "ELBOLoss",
    "EpochProgressBar",
    "GMMELBOLoss",
    "GMMVAEModule",
    "KLWarmup",
    "ReconstructionSSIM",
    "VAEModule",
    "VAENet",
    "gmm_kl_divergence",
    "gmm_log_joint",
    "kl_divergence",
    "mmd2",
    "coral",
    "paired_consistency",
    "rbf_bandwidths",
    "reconstruction_error",
]
