"""The estimator family: VAEs for galaxy images and what is built on them.

The estimators are imported from :mod:`skgalvae` itself
(``from skgalvae import VAETransformer``). Here they live by job:

- ``_base``: :class:`BaseVAE`, the intake of images and the scikit-learn API,
  which mixes in ``_training`` (building the skorch net, fitting, warm starts,
  checkpoints), ``_inference`` (transform, reconstruct, scores) and
  ``_persistence`` (pickling across devices); ``_scale`` learns the input
  range;
- ``_vae``, ``_gmm_vae`` and ``_domain_adaptation``: the three VAEs;
- ``_outliers``: the detectors that score galaxies with a fitted VAE.
"""
