"""Unsupervised morphology: a VAE with a Gaussian-mixture prior (VaDE)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import log_softmax, softmax
from sklearn.base import ClusterMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..nn import GMMELBOLoss, GMMVAEModule, gmm_log_joint
from ..nn.net import core_module
from ._base import BaseVAE
from ._vae import ConsistencyMixin, VAETransformer, _vae_parameters_doc

# The VAE's own parameters, passed to the VAE pre-trained when init is None.
_VAE_PARAMETERS = tuple(VAETransformer._parameter_constraints)


class GMMVAETransformer(ClusterMixin, ConsistencyMixin, BaseVAE):
    """A VAE whose prior is a Gaussian mixture: clusters and latents in one fit.

    Variational Deep Embedding (VaDE, Jiang et al. 2017), as AstroVaDEr
    (Spindler, Geach & Smith 2021) uses it for unsupervised galaxy
    morphology. The prior is ``p(z) = sum_c pi_c N(z | mu_c,
    diag(sigma_c^2))`` with ``n_components`` components whose weights, means
    and variances are trained jointly with the encoder and decoder. The loss
    is the negative ELBO of that model::

        reconstruction + kl_weight * KL(q(z, c | x) || p(z, c))

    where ``q(c | x)`` is the mixture's responsibility for the encoded
    galaxy (:func:`skgalvae.nn.gmm_kl_divergence`). Reconstruction pulls the
    latents towards what the images need, the KL pulls them towards the
    components, and the components move to the latents, so the clusters are
    shaped by the images rather than found afterwards.

    Training follows VaDE:

    1. a plain :class:`VAETransformer` of the same architecture is trained
       for ``pretrain_epochs`` (or ``init``, an already fitted one, is used);
    2. a diagonal :class:`~sklearn.mixture.GaussianMixture` fitted on its
       latent means, each component widened by its galaxies' mean posterior
       variance, initialises the prior, and its weights the encoder and
       decoder;
    3. everything is trained on the mixture-prior loss for ``max_epochs``,
       optionally warming the KL weight up over ``kl_warmup`` epochs
       (:class:`skgalvae.nn.KLWarmup`, AstroVaDEr's annealing).

    The training loop, device fast paths, inference methods and pickling are
    :class:`VAETransformer`'s. :meth:`transform` returns the posterior means;
    :meth:`predict` the most responsible component; :meth:`predict_proba`
    the responsibilities ``p(c | z)``; :meth:`sample` decodes draws from one
    component or from the whole mixture.

    Its defaults are :class:`VAETransformer`'s (the resize-conv ResNet, the
    Gaussian likelihood, a cosine learning rate, dihedral augmentation), so
    ``init`` can be a VAE fitted with its defaults; the study's network is
    ``architecture="xu2023", likelihood="sse", lr_schedule="constant",
    augment=None``. The user guide's clustering page compares both.

    Parameters
    ----------
    {vae_parameters}
    n_components : int, default=10
        Number of mixture components (clusters).
    pretrain_epochs : int, default=10
        Epochs of the plain VAE that initialises the model when ``init`` is
        None.
    prior_lr : float or None, default=None
        Adam learning rate of the mixture's weights, means and variances
        (VaDE trains them with the network); ``None`` is ``lr``. Larger rates let
        the prior follow the latents faster, but also let one component
        absorb every galaxy (a warning says when the fit ends that way).
    init : VAETransformer, FrozenEstimator or None, default=None
        A fitted VAE to start from instead of pre-training one, left
        unchanged. Its ``n_latent``, ``hidden_dims``, sample shape,
        ``pixel_scale_`` and ``output_activation_`` are kept, so explicit
        values of those must agree with it. Wrap it in
        :class:`sklearn.frozen.FrozenEstimator` so that clones keep it fitted.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Component of each training sample, as :meth:`predict` gives it.
    weights_ : ndarray of shape (n_components,)
        Mixture weights ``pi_c`` of the trained prior; its length is the
        fitted number of components, whatever ``n_components`` is set to
        after the fit.
    means_ : ndarray of shape (n_components, n_latent)
        Component means ``mu_c``.
    covariances_ : ndarray of shape (n_components, n_latent)
        Diagonal component variances ``sigma_c^2``.
    n_features_in_ : int
        Values per sample (``bands * h * w`` for images).
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame of feature vectors.
    n_latent_ : int
        Latent width of the fitted network (see :class:`VAETransformer`).
    sample_shape_, input_shape_, image_shape_ : tuple
        As for :class:`VAETransformer`.
    pixel_scale_ : float
        Resolved ``pixel_scale`` (``init``'s, when given).
    output_activation_ : str
        Resolved ``output_activation`` (``init``'s, when given).
    input_unit_ : astropy.units.Unit or None
        As for :class:`VAETransformer`.
    data_range_ : float
        Dynamic range of the training values, used by SSIM.
    input_range_, input_is_uint8_ : tuple of (float, float), bool
        The training values' range and whether they were uint8, as for
        :class:`VAETransformer`.
    device_ : str
        Device the model runs on.
    net_ : skgalvae.nn.VAENet
        The fitted net; ``net_.module_`` is a
        :class:`~skgalvae.nn.GMMVAEModule`.
    history_ : skorch.History
        Per-epoch and per-batch ``train_loss``, ``train_reconstruction``,
        ``train_kl``, ``train_ssim`` (images) and, with ``kl_warmup``,
        ``kl_weight``. The pre-training's history is not kept.

    See Also
    --------
    VAETransformer : The VAE with a standard normal prior.
    sklearn.mixture.GaussianMixture : Clusters fitted afterwards on latents.

    References
    ----------
    Jiang, Z., Zheng, Y., Tan, H., Tang, B., Zhou, H. (2017). Variational
    deep embedding: an unsupervised and generative approach to clustering.
    IJCAI, 1965.

    Spindler, A., Geach, J. E., Smith, M. J. (2021). AstroVaDEr: astronomical
    variational deep embedder for unsupervised morphological classification
    of galaxies and synthetic image generation. MNRAS 502, 985.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import GMMVAETransformer
    >>> X = np.random.default_rng(0).random((64, 3, 64, 64), dtype=np.float32)
    >>> gmvae = GMMVAETransformer(
    ...     n_latent=4, n_components=3, pretrain_epochs=1, max_epochs=1,
    ...     random_state=0,
    ... ).fit(X)
    >>> gmvae.predict_proba(X).shape
    (64, 3)
    >>> gmvae.sample(2, component=1, random_state=0).shape
    (2, 3, 64, 64)
    """

    _module_class = GMMVAEModule
    _feature_prefix = "gmmvae"
    _parameter_constraints: dict = {
        **VAETransformer._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "pretrain_epochs": [Interval(Integral, 1, None, closed="left")],
        "prior_lr": [None, Interval(Real, 0, None, closed="neither")],
        "init": [None, BaseVAE, FrozenEstimator],
    }

    def __init__(
        self,
        n_latent: int = 40,
        *,
        architecture: str = "resnet",
        hidden_dims="auto",
        image_shape: tuple | None = None,
        likelihood: str = "gaussian",
        noise="optimal",
        kl_weight: float = 1.0,
        kl_warmup: int = 0,
        free_bits: float = 0.0,
        lr: float = 1e-3,
        lr_schedule: str = "cosine",
        optimizer: str = "adam",
        optimizer_params: dict | None = None,
        batch_size: int = 128,
        max_epochs: int = 20,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        augment: str | None = "dihedral",
        invariance: str | None = None,
        consistency_weight: float = 0.0,
        consistency_view: dict | None = None,
        warm_start: bool = False,
        checkpoint_dir=None,
        pixel_scale="auto",
        output_activation: str = "auto",
        device: str = "auto",
        precision: str = "auto",
        channels_last="auto",
        stage_to_device="auto",
        compile: bool = False,
        inference_batch_size: int | str = "auto",
        random_state=None,
        verbose: int = 0,
        callbacks: list | None = None,
        n_components: int = 10,
        pretrain_epochs: int = 10,
        prior_lr: float | None = None,
        init=None,
    ):
        self.n_latent = n_latent
        self.architecture = architecture
        self.hidden_dims = hidden_dims
        self.image_shape = image_shape
        self.likelihood = likelihood
        self.noise = noise
        self.kl_weight = kl_weight
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.augment = augment
        self.invariance = invariance
        self.consistency_weight = consistency_weight
        self.consistency_view = consistency_view
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.pixel_scale = pixel_scale
        self.output_activation = output_activation
        self.device = device
        self.precision = precision
        self.channels_last = channels_last
        self.stage_to_device = stage_to_device
        self.compile = compile
        self.inference_batch_size = inference_batch_size
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.n_components = n_components
        self.pretrain_epochs = pretrain_epochs
        self.prior_lr = prior_lr
        self.init = init

    # --------------------------------------------------------------------- net
    def _module_params(self):
        return {
            **super()._module_params(),
            "module__n_components": self.n_components,
        }

    def _criterion_params(self):
        params = {**super()._criterion_params(), "criterion": GMMELBOLoss}
        if self.prior_lr is not None:
            # "*" in front also matches under a torch.compile wrapper.
            params["optimizer__param_groups"] = [("*prior_*", {"lr": self.prior_lr})]
        return params

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pre-train (or take ``init``), initialise the mixture, train the VaDE.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w), (n_samples, h, w) or \
(n_samples, n_features)
            Training images or feature vectors, as for
            :meth:`VAETransformer.fit`.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X)

    def _check_fit_options(self):
        if self.free_bits:
            raise ValueError(
                f"free_bits={self.free_bits} applies to the standard normal prior; "
                f"{type(self).__name__}'s mixture prior does not support it. Set "
                f"free_bits=0 (kl_warmup eases the KL in instead)."
            )

    def _check_fit_samples(self, samples):
        n_samples = len(samples.data)
        if n_samples < max(self.n_components, 2):
            raise ValueError(
                f"X has n_samples={n_samples}, but {type(self).__name__} needs at "
                f"least n_components={self.n_components} (and 2) samples to fit "
                f"its mixture."
            )

    def _training_data(self, samples, base):
        rng = check_random_state(self.random_state)
        if base is None:
            base = self._pretrained_vae(samples.data, rng)
        else:
            self._inherit_from(base, samples)
        state = dict(core_module(base.net_.module_).state_dict())
        # X is validated: encode it without checking it again.
        mu, logvar = base._encode_data(samples.data)
        state.update(self._initial_prior(mu, np.exp(logvar), rng))
        return self._dataset(samples.data), state

    def _after_fit(self, samples):
        self._set_mixture_attributes()
        self.labels_ = self._most_responsible(self._encode_data(samples.data)[0])
        self._warn_if_collapsed()

    def _warn_if_collapsed(self):
        """Warn when one component took (almost) every training sample."""
        if self.n_components < 2:
            return
        counts = np.bincount(self.labels_, minlength=self.n_components)
        largest = int(np.argmax(counts))
        share = counts[largest] / counts.sum()
        if share > 0.9:
            warnings.warn(
                f"{type(self).__name__}'s mixture collapsed: component {largest} "
                f"holds {share:.0%} of the training samples (weight "
                f"{self.weights_[largest]:.2f}). Train the plain VAE longer first "
                f"(pretrain_epochs, or init), or lower prior_lr or kl_weight.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _pretrained_vae(self, data, rng):
        """Train the plain VAE of step 1 on the same data and settings."""
        params = {name: getattr(self, name) for name in _VAE_PARAMETERS}
        params.update(
            max_epochs=self.pretrain_epochs,
            hidden_dims=self.hidden_dims_,
            kl_warmup=0,
            warm_start=False,
            checkpoint_dir=None,
            random_state=rng.randint(np.iinfo(np.int32).max),
            pixel_scale=self.pixel_scale_,
            output_activation=self.output_activation_,
        )
        return VAETransformer(**params).fit(data)

    def _initial_prior(self, Z, variances, rng):
        """Return the prior's module state: a Gaussian mixture of the latents.

        A diagonal :class:`~sklearn.mixture.GaussianMixture` is fitted on the
        latent means ``Z``; each component's variance then gets the mean
        posterior variance of its galaxies (weighted by responsibility), so
        that the prior matches the spread of the latents the network draws
        (``mu + sigma * noise``), not only that of their means. Without it,
        latents whose means barely vary get components far narrower than
        the posterior noise, and the widest component takes every galaxy.
        """
        gmm = GaussianMixture(
            self.n_components,
            covariance_type="diag",
            n_init=3,
            random_state=rng.randint(np.iinfo(np.int32).max),
        )
        try:
            gmm.fit(Z)
        except ValueError as exc:  # components on collapsed latents
            raise ValueError(self._degenerate_latents(Z)) from exc
        resp = gmm.predict_proba(Z)
        # An empty component (degenerate data) gives NaN here, and the fit
        # then stops at its first batch, naming the data as the cause.
        with np.errstate(invalid="ignore", divide="ignore"):
            posterior = (resp.T @ variances) / resp.sum(axis=0)[:, None]
        return {
            "prior_logits": torch.as_tensor(np.log(gmm.weights_), dtype=torch.float32),
            "prior_means": torch.as_tensor(gmm.means_, dtype=torch.float32),
            "prior_logvars": torch.as_tensor(
                np.log(gmm.covariances_ + posterior), dtype=torch.float32
            ),
        }

    def _degenerate_latents(self, Z):
        """Why the latents of the training data cannot seed a mixture, in words."""
        name = type(self).__name__
        cause = (
            f"all {len(Z)} training samples are identical, a degenerate data set"
            if len(Z) > 1 and np.all(Z == Z[:1])
            else "their latent means collapse onto fewer points than components"
        )
        return (
            f"{name} could not start its mixture of n_components="
            f"{self.n_components} Gaussians on the pre-trained VAE's latents: "
            f"{cause}. Train on varied samples, pre-train longer "
            f"(pretrain_epochs) or lower n_components."
        )

    def _set_mixture_attributes(self):
        module = core_module(self.net_.module_)
        logits = module.prior_logits.detach().cpu().double().numpy()
        self.weights_ = softmax(logits)
        self.means_ = module.prior_means.detach().cpu().double().numpy()
        logvars = module.prior_logvars.detach().cpu().double().numpy()
        self.covariances_ = np.exp(logvars)

    # ---------------------------------------------------------------- clusters
    def _log_joint(self, Z):
        """``log pi_c + log N(z | mu_c, sigma_c^2)`` in float64, shape (n, k)."""
        prior = (np.log(self.weights_), self.means_, np.log(self.covariances_))
        return gmm_log_joint(
            torch.as_tensor(np.asarray(Z, dtype=np.float64)),
            *(torch.as_tensor(p) for p in prior),
        ).numpy()

    def predict_proba(self, X):
        """Return each sample's responsibilities ``p(c | z)`` at its latent mean.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to assign.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            Rows sum to 1.
        """
        check_is_fitted(self)
        return np.exp(log_softmax(self._log_joint(self.transform(X)), axis=1))

    def predict(self, X):
        """Return the most responsible component of each sample.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to assign.

        Returns
        -------
        ndarray of shape (n_samples,), dtype int
            Cluster indices in ``[0, n_components)``.
        """
        check_is_fitted(self)
        return self._most_responsible(self.transform(X))

    def _most_responsible(self, Z):
        """Index of the component with the largest ``log pi_c + log N(z)``."""
        return np.argmax(self._log_joint(Z), axis=1)

    def sample(self, n_samples=1, random_state=None, *, component=None):
        """Decode draws from the mixture prior, or from one of its components.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.
        component : int or None, default=None
            Draw every sample from this component (synthetic galaxies of one
            cluster); ``None`` draws components by their weights.

        Returns
        -------
        ndarray of shape ``(n_samples, *input_shape_)``, dtype float32
            Generated samples in the training data's units and layout.
        """
        check_is_fitted(self)
        self._check_n_samples(n_samples)
        rng = check_random_state(random_state)
        n_components = len(self.weights_)  # fitted, whatever the parameter now
        if component is None:
            components = rng.choice(n_components, size=n_samples, p=self.weights_)
        elif (
            isinstance(component, (int, np.integer))
            and not isinstance(component, bool)
            and 0 <= component < n_components
        ):
            components = np.full(n_samples, int(component))
        else:
            raise ValueError(
                f"component must be None or an int in [0, {n_components}); "
                f"got {component!r}."
            )
        noise = rng.standard_normal((n_samples, self.n_latent_))
        z = self.means_[components] + noise * np.sqrt(self.covariances_[components])
        return self._decode(z.astype(np.float32))


GMMVAETransformer.__doc__ = (GMMVAETransformer.__doc__ or "").replace(
    "    {vae_parameters}\n", _vae_parameters_doc(estimator=GMMVAETransformer)
)
