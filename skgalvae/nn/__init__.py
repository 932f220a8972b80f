"""Torch layer of skgalvae: modules, losses, data loading and the skorch net.

Nothing in here imports the estimator layer.
"""

from .callbacks import EpochProgressBar, KLWarmup, ReconstructionSSIM
from .data import ArrayDataset, DeviceBatchLoader, DomainBatchLoader, DomainDataset
from .losses import (
    DomainAdaptationLoss,
    ELBOLoss,
    GMMELBOLoss,
    gmm_kl_divergence,
    gmm_log_joint,
    kl_divergence,
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
    "ArrayDataset",
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
    "rbf_bandwidths",
    "reconstruction_error",
]
