"""Domain adaptation of the VAE across surveys: :class:`DomainAdaptedVAETransformer`."""

from __future__ import annotations

import itertools
from numbers import Integral, Real

from sklearn.base import _fit_context
from sklearn.frozen import FrozenEstimator
from sklearn.utils import metadata_routing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseVAE
from ._domains import split_sample_domain
from ._vae import VAETransformer, _vae_parameters_doc
from .nn import (
    DomainAdaptationLoss,
    DomainAdaptedVAEModule,
    DomainBatchLoader,
    DomainDataset,
)
from .nn.data import take_rows
from .nn.net import core_module

_DOMAINS = ("source", "target")


class DomainAdaptedVAETransformer(BaseVAE):
    """A VAE with a shared encoder adapted across two surveys by MMD.

    The domain adaptation of Xu et al. (2023, Sec. 5): one encoder, shared by
    both surveys, and one decoder per survey, trained on

    ``L = L_VAE(source) + L_VAE(target) + mmd_weight * MMD^2(mu_source,
    mu_target)``,

    so that the same galaxy seen by two surveys lands in the same place of one
    latent space, and a classifier trained on source-survey latents applies
    to the target survey. The study's protocol fine-tunes the source VAE:
    pass a fitted :class:`VAETransformer` as ``init``.

    Target-survey images reach :meth:`fit` in one of two ways:

    - ``sample_domain`` (skada's convention): ``X`` holds both surveys, and a
      sample-aligned integer array marks source rows ``> 0`` and target rows
      ``< 0``. Cross-validation slices it together with ``X``, so folds stay
      consistent;
    - ``X_target``: a separate array of target images (any number of rows,
      or row for row the same galaxies with ``paired=True``).

    Both are metadata: in a :class:`~sklearn.pipeline.Pipeline` or
    :class:`~sklearn.model_selection.GridSearchCV` with metadata routing
    enabled, request them with ``set_fit_request(sample_domain=True)``.

    Everything else is :class:`VAETransformer`: one training loop, the same
    fast device path, the same inference methods and pickling.
    :meth:`transform` encodes images of either survey with the shared encoder.

    Parameters
    ----------
    {vae_parameters}
    mmd_weight : float, default=0.5
        Weight ``lambda`` of the MMD^2 term (the study's value). Not
        scale-free: the reconstruction is summed over pixels, so the same
        weight counts for less on larger images. At 64x64 the MMD gradient
        is ~1/500 of the reconstruction's, and alignment needs weights of
        order 100-1000 (see ``docs/user_guide/domain_adaptation.md``).
    mmd_kernel : {"rbf", "linear"}, default="rbf"
        Kernel of the MMD: a sum of ``mmd_n_kernels`` Gaussian kernels with
        bandwidths spread by ``mmd_kernel_mul`` around the mean pairwise
        distance of each batch (the study's code), or linear (matches the
        latent means only). The unbiased estimator is used, so source and
        target batches may differ in size.
    mmd_n_kernels : int, default=5
        Number of Gaussian kernels.
    mmd_kernel_mul : float, default=2.0
        Ratio of consecutive Gaussian bandwidths.
    paired : bool, default=False
        Whether target row ``i`` is the same galaxy as source row ``i`` (the
        study's overlap sample). Paired batches hold the same galaxies on both
        sides, and the MMD^2 leaves each galaxy's own pair out of the cross
        term (the estimator that stays unbiased for paired samples); unpaired
        target batches are drawn independently, the target set being cycled
        to match the source's length.
    init : VAETransformer, FrozenEstimator or None, default=None
        A fitted VAE to start from, left unchanged; both decoders start as its
        decoder. Its ``n_latent``, ``hidden_dims``, sample shape,
        ``pixel_scale_`` and ``output_activation_`` are kept, so explicit
        values of those parameters must agree with it. :func:`~sklearn.clone`
        (and so GridSearchCV) clones parameters into unfitted copies: wrap
        the VAE in :class:`sklearn.frozen.FrozenEstimator` to keep it fitted.
        ``None`` trains all weights from scratch.

    Attributes
    ----------
    n_features_in_ : int
        Values per sample (``bands * h * w`` for images).
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame of feature vectors.
    sample_shape_, input_shape_, image_shape_ : tuple
        As for :class:`VAETransformer`.
    pixel_scale_ : float
        Resolved ``pixel_scale`` (``init``'s, when given).
    output_activation_ : str
        Resolved ``output_activation`` (``init``'s, when given); ``"auto"``
        looks at both surveys' values.
    data_range_ : float
        Dynamic range of the values of ``X``, used by SSIM.
    n_source_, n_target_ : int
        Source and target samples the adaptation saw.
    device_ : str
        Device the model runs on.
    net_ : skgalvae.nn.VAENet
        The fitted net; ``net_.module_`` is a
        :class:`~skgalvae.nn.DomainAdaptedVAEModule`.
    history_ : skorch.History
        Per-epoch and per-batch ``train_loss``, ``train_reconstruction``,
        ``train_kl`` (source), ``train_reconstruction_target``,
        ``train_kl_target``, ``train_mmd`` and ``train_ssim`` (source images).

    See Also
    --------
    VAETransformer : The VAE of one survey.
    skgalvae.metrics.paired_latent_mse : Per-galaxy latent shift between surveys.
    skgalvae.metrics.mmd2_score : An unsupervised scorer of the adaptation.

    Notes
    -----
    When ``X_target`` has exactly as many rows as ``X``, scikit-learn's
    cross-validation takes it for sample-aligned data and slices it with the
    fold's rows. That is right for ``paired=True`` data and harmless
    otherwise (each fold adapts to a subset of the target survey), but the
    target set is then not what was passed. ``sample_domain`` has no such
    ambiguity; prefer it under cross-validation.

    References
    ----------
    Xu, Q., Shen, S., de Souza, R. S., et al. (2023). From images to features:
    unbiased morphology classification via variational auto-encoders and domain
    adaptation. MNRAS 526, 6391.

    Gretton, A., Borgwardt, K. M., Rasch, M. J., Schoelkopf, B., Smola, A.
    (2012). A kernel two-sample test. JMLR 13, 723.

    Examples
    --------
    >>> from skgalvae import DomainAdaptedVAETransformer, VAETransformer
    >>> from skgalvae.datasets import make_survey_pairs
    >>> decals, bass = make_survey_pairs(48, random_state=0)
    >>> X, X_target = decals.images, bass.images
    >>> vae = VAETransformer(n_latent=4, max_epochs=1, random_state=0).fit(X)
    >>> da = DomainAdaptedVAETransformer(
    ...     n_latent=4, max_epochs=1, paired=True, init=vae, random_state=0
    ... ).fit(X, X_target=X_target)
    >>> da.transform(X_target).shape
    (48, 4)
    >>> da.inverse_transform(da.transform(X_target), domain="target").shape
    (48, 3, 64, 64)
    """

    _module_class = DomainAdaptedVAEModule
    # Its batches pair two surveys (DomainBatchLoader), which are not sharded.
    _supports_data_parallel = False
    _parameter_constraints: dict = {
        **VAETransformer._parameter_constraints,
        # MMD compares samples within a batch: it needs two per side.
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "mmd_weight": [Interval(Real, 0, None, closed="left")],
        "mmd_kernel": [StrOptions({"rbf", "linear"})],
        "mmd_n_kernels": [Interval(Integral, 1, None, closed="left")],
        "mmd_kernel_mul": [Interval(Real, 1, None, closed="neither")],
        "paired": ["boolean"],
        "init": [None, BaseVAE, FrozenEstimator],
    }
    # ``domain`` picks a decoder; it is an option, not routed metadata.
    __metadata_request__inverse_transform = {"domain": metadata_routing.UNUSED}

    def __init__(
        self,
        n_latent: int = 40,
        *,
        architecture: str = "resnet",
        hidden_dims="auto",
        image_shape: tuple | None = None,
        likelihood: str = "gaussian",
        noise="optimal",
        loss: str = "deprecated",
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
        warm_start: bool = False,
        checkpoint_dir=None,
        pixel_scale="auto",
        output_activation: str = "auto",
        device: str = "auto",
        precision: str = "auto",
        channels_last="auto",
        stage_to_device="auto",
        compile: bool = False,
        random_state=None,
        verbose: int = 0,
        callbacks: list | None = None,
        mmd_weight: float = 0.5,
        mmd_kernel: str = "rbf",
        mmd_n_kernels: int = 5,
        mmd_kernel_mul: float = 2.0,
        paired: bool = False,
        init=None,
    ):
        self.n_latent = n_latent
        self.architecture = architecture
        self.hidden_dims = hidden_dims
        self.image_shape = image_shape
        self.likelihood = likelihood
        self.noise = noise
        self.loss = loss
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
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.pixel_scale = pixel_scale
        self.output_activation = output_activation
        self.device = device
        self.precision = precision
        self.channels_last = channels_last
        self.stage_to_device = stage_to_device
        self.compile = compile
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.mmd_weight = mmd_weight
        self.mmd_kernel = mmd_kernel
        self.mmd_n_kernels = mmd_n_kernels
        self.mmd_kernel_mul = mmd_kernel_mul
        self.paired = paired
        self.init = init

    # --------------------------------------------------------------------- net
    def _criterion_params(self):
        return {
            **super()._criterion_params(),
            "criterion": DomainAdaptationLoss,
            "criterion__mmd_weight": self.mmd_weight,
            "criterion__kernel": self.mmd_kernel,
            "criterion__n_kernels": self.mmd_n_kernels,
            "criterion__kernel_mul": self.mmd_kernel_mul,
            "criterion__paired": self.paired,
            "iterator_train": DomainBatchLoader,
            "iterator_train__paired": self.paired,
        }

    # ------------------------------------------------------------------ intake
    def _domains(self, samples, sample_domain, X_target):
        """Split or read the two surveys; return source, target and target's min."""
        name = type(self).__name__
        if sample_domain is not None:
            source_rows, target_rows = split_sample_domain(
                sample_domain, len(samples.data), name, require_both=True
            )
            source = take_rows(samples.data, source_rows)
            target = take_rows(samples.data, target_rows)
            return source, target, None
        target_samples, (target_low, _) = self._read_samples(
            X_target, reset=False, input_name="X_target", reference="X has"
        )
        return samples.data, target_samples.data, target_low

    def _check_domain_sizes(self, source, target):
        for rows, what in ((source, "source"), (target, "target")):
            if len(rows) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 {what} samples to "
                    f"compare the surveys by MMD; got {len(rows)} sample(s)."
                )
        if self.paired and len(source) != len(target):
            raise ValueError(
                f"paired=True needs the same galaxies in both surveys, row for row, "
                f"but there are {len(source)} source and {len(target)} target "
                f"samples."
            )

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sample_domain=None, X_target=None):
        """Adapt the VAE to both surveys.

        Pass exactly one of ``sample_domain`` and ``X_target``.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w), (n_samples, h, w) or \
(n_samples, n_features)
            Source-survey samples, or both surveys' with ``sample_domain``. Any
            input :meth:`VAETransformer.fit` takes.
        y : None
            Ignored; present for API consistency.
        sample_domain : array-like of shape (n_samples,), default=None
            Integer domain labels of the rows of ``X``: ``> 0`` source survey,
            ``< 0`` target survey (skada's convention; one label per side).
        X_target : array-like of shape (n_target, ...), default=None
            Target-survey samples, of the shape of ``X``'s. With
            ``paired=True``, row ``i`` is the galaxy of row ``i`` of ``X``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, sample_domain=sample_domain, X_target=X_target)

    def _check_fit_options(self, *, sample_domain, X_target):
        if self.early_stopping:
            raise ValueError(
                f"{type(self).__name__} does not hold out validation data; set "
                f"early_stopping=False and choose max_epochs (e.g. by "
                f"GridSearchCV with skgalvae.metrics.mmd2_score)."
            )

    def _check_fit_samples(self, samples, *, sample_domain, X_target):
        # After X's own validation, so that a bad X is named first.
        if (sample_domain is None) == (X_target is None):
            raise ValueError(
                f"{type(self).__name__}.fit needs target-survey data: pass either "
                f"sample_domain=... (labels of the rows of X, > 0 source, < 0 "
                f"target) or X_target=... (target images), "
                + ("not both." if sample_domain is not None else "got neither.")
            )

    def _training_data(self, samples, value_range, base, *, sample_domain, X_target):
        source, target, target_low = self._domains(samples, sample_domain, X_target)
        self._check_domain_sizes(source, target)
        low = value_range[0]
        data_low = low if target_low is None else min(low, target_low)
        if self.output_activation == "auto":
            self.output_activation_ = self._auto_output_activation(data_low)
        init_state = None
        if base is not None:
            self._inherit_from(base, samples)
            if data_low < 0 and self.output_activation_ == "relu":
                raise ValueError(
                    f"The training data (X or X_target) has negative values (min "
                    f"{data_low:.3g}), but init's decoder ends in a ReLU "
                    f"(output_activation_='relu') and cannot produce them; fit the "
                    f"initial VAE with output_activation='identity'."
                )
            init_state = core_module(base.net_.module_).state_dict()
        self.n_source_, self.n_target_ = len(source), len(target)
        dataset = DomainDataset(self._dataset(source), self._dataset(target))
        return dataset, init_state

    # ---------------------------------------------------------------- inference
    def _check_domain(self, domain):
        if domain not in _DOMAINS:
            raise ValueError(
                f"domain must be 'source' or 'target' (which of "
                f"{type(self).__name__}'s decoders to use); got {domain!r}."
            )
        return domain

    def inverse_transform(self, X, *, domain: str = "source"):
        """Decode latent vectors with one survey's decoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent)
            Latent vectors, e.g. from :meth:`transform`.
        domain : {"source", "target"}, default="source"
            Which survey's decoder renders them.

        Returns
        -------
        ndarray of shape ``(n_samples, *input_shape_)``, dtype float32
            Decoded samples, in the units and layout of the training data.
        """
        return self._decode(X, domain=self._check_domain(domain))

    def reconstruct(self, X, *, domain: str = "source"):
        """Encode ``X`` and decode its posterior means with one survey's decoder.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to reconstruct, of the survey named by ``domain``.
        domain : {"source", "target"}, default="source"
            Which survey's decoder to use.

        Returns
        -------
        ndarray, same shape as ``X``, dtype float32
        """
        return self._reconstruct(X, domain=self._check_domain(domain))

    def sample(self, n_samples=1, random_state=None, *, domain: str = "source"):
        """Decode draws from the prior ``N(0, I)`` as one survey would see them.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the latent draws; the same seed gives the same galaxies
            in both surveys.
        domain : {"source", "target"}, default="source"
            Which survey's decoder renders them.

        Returns
        -------
        ndarray of shape ``(n_samples, *input_shape_)``, dtype float32
        """
        return self._sample(n_samples, random_state, domain=self._check_domain(domain))

    def score_samples_ssim(self, X, *, domain: str = "source"):
        """Return the SSIM between each image and its reconstruction.

        Parameters
        ----------
        X : array-like of images
            Images of the survey named by ``domain``.
        domain : {"source", "target"}, default="source"
            Which survey's decoder reconstructs them.

        Returns
        -------
        ndarray of shape (n_samples,), dtype float32
        """
        return self._score_samples_ssim(X, domain=self._check_domain(domain))

    def reconstruction_error(self, X, metric: str = "mse", *, domain: str = "source"):
        """Return how badly each sample of ``X`` is reconstructed.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples of the survey named by ``domain``.
        metric : {"mse", "mae", "ssim"}, default="mse"
            As for :meth:`VAETransformer.reconstruction_error`.
        domain : {"source", "target"}, default="source"
            Which survey's decoder reconstructs them.

        Returns
        -------
        ndarray of shape (n_samples,), dtype float64
        """
        return self._reconstruction_error(X, metric, domain=self._check_domain(domain))

    def score(self, X, y=None, *, sample_domain=None):
        """Return the mean reconstruction quality of ``X``; higher is better.

        Mean SSIM for images, ``R^2`` for feature vectors, as for
        :class:`VAETransformer`. Each row is reconstructed by its survey's
        decoder: the target decoder for rows that ``sample_domain`` marks
        ``< 0``, the source decoder otherwise.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to reconstruct.
        y : None
            Ignored.
        sample_domain : array-like of shape (n_samples,), default=None
            Domain labels of the rows (``> 0`` source, ``< 0`` target); all
            rows are source rows when ``None``.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        if sample_domain is None:
            return super().score(X)
        samples, _ = self._read_samples(X, reset=False)
        rows = split_sample_domain(
            sample_domain, len(samples.data), type(self).__name__, require_both=False
        )
        parts = [
            self.net_.reconstruct_iter(
                self._dataset(take_rows(samples.data, side_rows)),
                self.batch_size,
                domain=domain,
            )
            for side_rows, domain in zip(rows, _DOMAINS, strict=True)
            if len(side_rows)
        ]
        return self._score_of(itertools.chain.from_iterable(parts))


# The VAE's parameters are documented once, in VAETransformer (as skorch shares
# NeuralNet's parameter docs with its subclasses).
DomainAdaptedVAETransformer.__doc__ = (
    DomainAdaptedVAETransformer.__doc__ or ""
).replace("    {vae_parameters}\n", _vae_parameters_doc())
