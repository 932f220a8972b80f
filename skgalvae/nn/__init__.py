"""Torch layer of skgalvae: modules, losses, data loading and the skorch net.

Nothing in here imports the estimator layer.
"""

from .adaptation import (
    ADAPTATIONS,
    cluster_mmd,
    coral,
    mmd2,
    paired_consistency,
    rbf_bandwidths,
)
from .adaptation_loss import DomainAdaptationLoss
from .architectures import (
    ARCHITECTURES,
    Architecture,
    get_architecture,
    register_architecture,
)
from .augment import SURVEY_VIEW_DEFAULTS, dihedral_augment, survey_view
from .callbacks import EpochProgressBar, KLWarmup, LatentKL, ReconstructionSSIM
from .data import ArrayDataset, DeviceBatchLoader
from .domain_data import DomainBatchLoader, DomainDataset
from .kl import (
    free_bits_kl,
    gaussian_kl,
    gmm_kl_divergence,
    gmm_log_joint,
    kl_divergence,
    kl_per_latent,
)
from .likelihoods import (
    LIKELIHOODS,
    CalibratedLikelihood,
    Likelihood,
    SummedError,
    make_likelihood,
    reconstruction_error,
)
from .losses import ELBOLoss, GMMELBOLoss
from .modules import DomainAdaptedVAEModule, GMMVAEModule, VAEModule
from .net import VAENet
from .networks import DenseDecoder, DenseEncoder
from .pose import (
    N_POSES,
    POSE_NAMES,
    align_to_input,
    apply_pose,
    best_pose,
    match_pose,
)
from .resnet import LowPass, PreActResidualBlock, ResNetDecoder, ResNetEncoder
from .xu2023 import ConvDecoder, ConvEncoder

__all__ = [
    "ADAPTATIONS",
    "ARCHITECTURES",
    "LIKELIHOODS",
    "N_POSES",
    "POSE_NAMES",
    "SURVEY_VIEW_DEFAULTS",
    "align_to_input",
    "apply_pose",
    "best_pose",
    "match_pose",
    "dihedral_augment",
    "gaussian_kl",
    "survey_view",
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
    "cluster_mmd",
    "coral",
    "paired_consistency",
    "rbf_bandwidths",
    "reconstruction_error",
]
