"""skgalvae: scikit-learn compatible variational autoencoders for galaxy images.

The main estimator is :class:`VAETransformer`; the torch layer lives in
:mod:`skgalvae.nn`, metrics in :mod:`skgalvae.metrics` and data in
:mod:`skgalvae.datasets`.
"""

__version__ = "0.1.0"

from ._vae import VAETransformer  # noqa: E402

__all__ = ["VAETransformer", "__version__"]
