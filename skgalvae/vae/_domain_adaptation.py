"""Domain adaptation of the VAE across surveys: :class:`DomainAdaptedVAETransformer`."""

from __future__ import annotations

import itertools
from collections.abc import Set
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.cluster import KMeans
from sklearn.frozen import FrozenEstimator
from sklearn.utils import check_random_state, metadata_routing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _wrap_data_with_container
from sklearn.utils.validation import check_is_fitted

from ..nn import (
    ADAPTATIONS,
    DomainAdaptationLoss,
    DomainAdaptedVAEModule,
    DomainBatchLoader,
    DomainDataset,
)
from ..nn.adaptation import takes_centres
from ..nn.data import take_rows
from ..nn.distributed import data_parallel_rank
from ..nn.modules import SEPARATE_ENCODER_ANCHORS
from ..nn.net import core_module
from ..utils._domains import check_sample_domain, domain_order, require_both_sides
from ._base import BaseVAE
from ._vae import VAETransformer, _vae_parameters_doc

#: Domain labels of a model given ``X_target``: ``X`` is 1, ``X_target`` -1.
_SOURCE_TARGET = (1, -1)


#: VAETransformer's parameters that domain adaptation does not take: its
#: batches pair surveys, and its consistency term is ``paired_weight``.
_NOT_HERE = ("consistency_weight", "consistency_view")


class _AutoOr(Set):
    """``"auto"`` and the names in a registry, as the registry is now.

    A parameter constraint over it accepts names registered after import.
    """

    def __init__(self, registry):
        self.registry = registry

    def __contains__(self, name):
        return name == "auto" or name in self.registry

    def __iter__(self):
        yield "auto"
        yield from self.registry

    def __len__(self):
        return 1 + len(self.registry)

    @classmethod
    def _from_iterable(cls, names):  # set operations give plain sets
        return set(names)


class DomainAdaptedVAETransformer(BaseVAE):
    """A VAE adapted across surveys: one latent space for every survey.

    The domain adaptation of Xu et al. (2023, Sec. 5): one encoder, shared by
    every survey, and one decoder per survey, trained on

    ``L = sum_d L_VAE(survey d) + a * A(mu_1, mu_2, ...) [+ p * P]``,

    so that the same galaxy seen by two surveys lands in the same place of one
    latent space, and a classifier trained on source-survey latents applies
    to the target survey. ``A`` is the distance between the surveys' latent
    distributions (``adaptation``: the study's MMD^2, or Deep CORAL), ``P``
    an optional per-galaxy consistency term for paired data. By default the
    weights are scale-free (``weighting="balanced"``): ``mmd_weight`` is the
    ratio of the adaptation's pull on the encoder to the reconstruction's.
    The study's protocol fine-tunes the source VAE: pass a fitted
    :class:`VAETransformer` as ``init``.

    From a fitted source VAE the default goes further: the source survey's
    encoder and decoder stay fixed (``anchor="source"``), and every other
    survey gets an encoder of its own, pulled toward the source latents
    cluster by cluster (``adaptation="cluster_mmd"``). Source latents, and a
    classifier fitted on them, do not change; on a real survey shift (SDSS
    to DECaLS) this recovered the most of what the source classifier lost,
    in every seed measured, while the shared encoder also cost the source
    survey accuracy (see the user guide). ``anchor=None,
    adaptation="mmd"`` is the study's method.

    The surveys reach :meth:`fit` in one of two ways:

    - ``sample_domain`` (skada's convention, requested by default): ``X``
      holds every survey, and a sample-aligned integer array marks source
      rows ``> 0`` and target rows ``< 0``, one label per survey (several
      sources or targets are allowed). Cross-validation slices it together
      with ``X``, so folds stay consistent, and skada's
      :func:`~skada.make_da_pipeline`, scorers and splitters work as they do
      with skada's own adapters;
    - ``X_target``: a separate array of target images (any number of rows,
      or row for row the same galaxies with ``paired=True``).

    Everything else is :class:`VAETransformer`: one training loop, the same
    fast device path, data-parallel training, the same inference methods and
    pickling. :meth:`transform` encodes images of any survey with the shared
    encoder.

    Parameters
    ----------
    {vae_parameters}
    mmd_weight : float, default=1.0
        Weight of the adaptation term. With ``weighting="balanced"``, the
        norm of its gradient with respect to the latent means relative to
        that of the VAE losses: 1 pulls the encoder toward alignment as hard
        as toward reconstruction, whatever the image size, band count,
        likelihood or batch size. With ``weighting="fixed"``, the raw
        ``lambda`` of the study's eq. 6 (the study used 0.5; see
        ``docs/user_guide/domain_adaptation.md`` for what it amounts to).
    adaptation : {"auto", "mmd", "coral", "cluster_mmd"}, default="auto"
        The distance between the surveys' latent distributions (``"auto"``:
        ``"cluster_mmd"`` when anchored, ``"mmd"`` with a shared encoder):
        ``"mmd"``, the study's unbiased multi-kernel MMD^2
        (:func:`skgalvae.nn.mmd2`); ``"coral"``, Deep CORAL, the distance
        between the latent covariances (:func:`skgalvae.nn.coral`); or
        ``"cluster_mmd"``, the MMD^2 within each of ``n_clusters`` clusters
        of the source latents, target rows taking their nearest cluster as
        a pseudo-label (:func:`skgalvae.nn.cluster_mmd`; needs ``init``):
        it aligns kinds of galaxy with each other, whatever the surveys' mix
        of kinds. With more than two surveys it is averaged over all pairs
        of them.
    weighting : {"balanced", "fixed"}, default="balanced"
        How ``mmd_weight`` and ``paired_weight`` apply (see
        :class:`~skgalvae.nn.DomainAdaptationLoss`). ``"balanced"`` measures
        the gradients over the first 50 batches, then every 50 (each about
        one training step).
    paired_weight : float, default=0.0
        Weight of the per-galaxy consistency term, the mean squared distance
        between each galaxy's latents in two surveys
        (:func:`skgalvae.nn.paired_consistency`), in the units of
        ``mmd_weight``; needs ``paired=True``. It goes beyond the study,
        which matches distributions only.
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
        Whether row ``i`` of every survey is the same galaxy (the study's
        overlap sample; with ``sample_domain``, the ``i``-th row of each
        label). Paired batches hold the same galaxies on every side, and the
        MMD^2 leaves each galaxy's own pair out of the cross term (the
        estimator that stays unbiased for paired samples); unpaired surveys
        are drawn independently, each cycled to match the first survey's
        length.
    anchor : {"auto", None, "source", "decoder", "latents"}, default="auto"
        ``"auto"`` is ``"source"`` when ``init`` is given, else ``None``.
        ``None`` fine-tunes one encoder shared by every survey (the study's
        protocol), so the source latents move too. ``"source"`` keeps
        ``init``'s encoder and decoder fixed for the source survey and
        trains an encoder (started from ``init``'s) and a decoder for each
        other survey, so that its images land in the source's latent space
        (after ADDA, Tzeng et al. 2017): source latents stay exactly
        ``init``'s, a classifier fitted on them applies to every survey
        without refitting, and the source survey cannot get worse. Needs
        ``init``; :meth:`transform` then needs each row's survey
        (``sample_domain`` or ``domain``). ``"decoder"`` also keeps every
        survey's decoder ``init``'s: each survey's encoder learns to
        describe its images in the terms the source decoder draws from.
        ``"latents"`` keeps one encoder for every survey (so
        :meth:`transform` needs no survey labels) started from ``init``'s,
        holds its source latents to ``init``'s by a penalty
        (``anchor_weight``) and aligns the other surveys to ``init``'s
        source latents; the source decoder stays ``init``'s. Source latents
        then move a little, by as much as the penalty allows. Needs ``init``.
    anchor_weight : float, default=1.0
        With ``anchor="latents"``, the weight of the penalty that holds the
        source latents to ``init``'s (their relative mean squared distance,
        :func:`skgalvae.nn.paired_consistency`), applied as ``weighting``
        says: with ``"balanced"``, 1 pulls the encoder back to its source
        latents as hard as toward reconstruction. Unused otherwise.
    n_clusters : int, default=10
        Number of latent clusters of ``adaptation="cluster_mmd"``: k-means
        on ``init``'s latents of the source survey, fixed for the fit.
    init : VAETransformer, FrozenEstimator or None, default=None
        A fitted VAE to start from, left unchanged; every decoder starts as
        its decoder. Its ``n_latent``, ``hidden_dims``, sample shape,
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
    n_latent_ : int
        Latent width of the fitted network (see :class:`VAETransformer`).
    sample_shape_, input_shape_, image_shape_ : tuple
        As for :class:`VAETransformer`.
    pixel_scale_ : float
        Resolved ``pixel_scale`` (``init``'s, when given).
    output_activation_ : str
        Resolved ``output_activation`` (``init``'s, when given); ``"auto"``
        looks at every survey's values.
    input_unit_ : astropy.units.Unit or None
        As for :class:`VAETransformer`.
    data_range_ : float
        Dynamic range of the values of ``X``, used by SSIM.
    input_range_, input_is_uint8_ : tuple of (float, float), bool
        The training values' range and whether they were uint8, as for
        :class:`VAETransformer`.
    domains_ : ndarray of int
        The surveys' ``sample_domain`` labels in decoder order: the first
        source, the first target, then any other sources and targets
        (``[1, -1]`` with ``X_target``). ``domain=`` of the inference
        methods takes these labels, or ``"source"`` and ``"target"`` for the
        first two.
    anchor_ : str or None
        The fitted network's ``anchor`` (``"auto"`` resolved).
    adaptation_ : str
        The adaptation term the fit used (``"auto"`` resolved).
    cluster_centres_ : ndarray of shape (n_clusters, n_latent) or None
        The latent clusters of ``adaptation="cluster_mmd"`` (``None``
        otherwise).
    n_source_, n_target_ : int
        Source and target samples the adaptation saw (all sources, all
        targets).
    adaptation_weight_ : float
        The adaptation term's weight ``a`` in the study's units (what
        ``weighting="fixed"`` would need as ``mmd_weight``) at the end of the
        fit.
    device_ : str
        Device the model runs on.
    net_ : skgalvae.nn.VAENet
        The fitted net; ``net_.module_`` is a
        :class:`~skgalvae.nn.DomainAdaptedVAEModule`.
    history_ : skorch.History
        Per-epoch and per-batch ``train_loss``, ``train_reconstruction``,
        ``train_kl`` (first survey), ``train_reconstruction_target``,
        ``train_kl_target`` (second survey), the adaptation term
        (``train_mmd`` or ``train_coral``, and ``train_paired``),
        ``train_adaptation_weight``, ``train_grad_ratio`` (the measured
        ratio of the adaptation gradient to the VAE losses' at the latent
        means) and ``train_ssim`` (first survey's images).

    See Also
    --------
    VAETransformer : The VAE of one survey.
    skgalvae.metrics.paired_latent_mse : Per-galaxy latent shift between surveys.
    skgalvae.metrics.domain_auc : How well a classifier tells the surveys apart.
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

    Sun, B., Saenko, K. (2016). Deep CORAL: correlation alignment for deep
    domain adaptation. ECCV 2016 Workshops, 443.

    Examples
    --------
    >>> from skgalvae import DomainAdaptedVAETransformer, VAETransformer
    >>> from skgalvae.datasets import make_survey_pairs
    >>> from skgalvae.preprocessing import AsinhStretch
    >>> decals, bass = make_survey_pairs(48, random_state=0)
    >>> stretch = AsinhStretch()  # survey flux to about [0, 1]
    >>> X = stretch.fit_transform(decals.images)
    >>> X_target = stretch.transform(bass.images)
    >>> vae = VAETransformer(n_latent=4, max_epochs=1, random_state=0).fit(X)
    >>> da = DomainAdaptedVAETransformer(
    ...     n_latent=4, max_epochs=1, paired=True, init=vae, random_state=0
    ... ).fit(X, X_target=X_target)
    >>> da.anchor_, da.adaptation_
    ('source', 'cluster_mmd')
    >>> Z_target = da.transform(X_target, domain="target")
    >>> Z_target.shape
    (48, 4)
    >>> da.inverse_transform(Z_target, domain="target").shape
    (48, 3, 64, 64)
    """

    _module_class = DomainAdaptedVAEModule
    _parameter_constraints: dict = {
        **{
            name: constraint
            for name, constraint in VAETransformer._parameter_constraints.items()
            if name not in _NOT_HERE
        },
        # MMD compares samples within a batch: it needs two per side.
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "mmd_weight": [Interval(Real, 0, None, closed="left")],
        "adaptation": [StrOptions(_AutoOr(ADAPTATIONS))],
        "weighting": [StrOptions({"balanced", "fixed"})],
        "paired_weight": [Interval(Real, 0, None, closed="left")],
        "mmd_kernel": [StrOptions({"rbf", "linear"})],
        "mmd_n_kernels": [Interval(Integral, 1, None, closed="left")],
        "mmd_kernel_mul": [Interval(Real, 1, None, closed="neither")],
        "paired": ["boolean"],
        "anchor": [None, StrOptions({"auto", "source", "decoder", "latents"})],
        "anchor_weight": [Interval(Real, 0, None, closed="left")],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [None, BaseVAE, FrozenEstimator],
    }
    # skada's adapters request the domain labels by default; so does this
    # estimator, so that make_da_pipeline and routed GridSearchCV pass them.
    __metadata_request__fit = {"sample_domain": True}
    # ``domain`` names one survey for every row; an option, not routed metadata.
    __metadata_request__transform = {
        "domain": metadata_routing.UNUSED,
        "sample_domain": True,
    }
    __metadata_request__score = {"sample_domain": True}
    # ``domain`` picks a decoder; it is an option, not routed metadata.
    __metadata_request__inverse_transform = {
        "domain": metadata_routing.UNUSED,
        "sample_domain": True,
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
        mmd_weight: float = 1.0,
        adaptation: str = "auto",
        weighting: str = "balanced",
        paired_weight: float = 0.0,
        mmd_kernel: str = "rbf",
        mmd_n_kernels: int = 5,
        mmd_kernel_mul: float = 2.0,
        paired: bool = False,
        anchor: str | None = "auto",
        anchor_weight: float = 1.0,
        n_clusters: int = 10,
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
        self.mmd_weight = mmd_weight
        self.adaptation = adaptation
        self.weighting = weighting
        self.paired_weight = paired_weight
        self.mmd_kernel = mmd_kernel
        self.mmd_n_kernels = mmd_n_kernels
        self.mmd_kernel_mul = mmd_kernel_mul
        self.paired = paired
        self.anchor = anchor
        self.anchor_weight = anchor_weight
        self.n_clusters = n_clusters
        self.init = init

    # --------------------------------------------------------------------- net
    def _module_params(self):
        return {
            **super()._module_params(),
            "module__n_domains": len(self.domains_),
            "module__anchor": self.anchor_,
        }

    def _criterion_params(self):
        return {
            **super()._criterion_params(),
            "criterion__cluster_centres": self.cluster_centres_,
            "criterion": DomainAdaptationLoss,
            "criterion__mmd_weight": self.mmd_weight,
            "criterion__adaptation": self.adaptation_,
            "criterion__weighting": self.weighting,
            "criterion__paired_weight": self.paired_weight,
            "criterion__anchor_weight": (
                self.anchor_weight if self.anchor_ == "latents" else 0.0
            ),
            "criterion__n_domains": len(self.domains_),
            "criterion__kernel": self.mmd_kernel,
            "criterion__n_kernels": self.mmd_n_kernels,
            "criterion__kernel_mul": self.mmd_kernel_mul,
            "criterion__paired": self.paired,
            "iterator_train": DomainBatchLoader,
            "iterator_train__paired": self.paired,
        }

    # ------------------------------------------------------------------ intake
    def _domains(self, samples, sample_domain, X_target):
        """Split or read the surveys; return their labels, data and target range.

        The range is ``X_target``'s ``(low, high)`` (``None`` with
        ``sample_domain``, whose rows are all in ``X``).
        """
        if sample_domain is not None:
            labels = check_sample_domain(sample_domain, len(samples.data))
            require_both_sides(labels, type(self).__name__)
            order = domain_order(labels)
            data = [
                take_rows(samples.data, np.flatnonzero(labels == label))
                for label in order
            ]
            return order, data, None
        target = self._read_samples(
            X_target, reset=False, input_name="X_target", reference="X has"
        )
        data = [samples.data, target.data]
        return np.asarray(_SOURCE_TARGET), data, target.value_range

    def _check_domain_sizes(self, domains, data):
        shard = data_parallel_rank()
        per_side = 2 if shard is None else 2 * shard[1]
        for label, rows in zip(domains, data, strict=True):
            if len(rows) < per_side:
                where = "" if shard is None else f" ({shard[1]} processes x 2)"
                raise ValueError(
                    f"{type(self).__name__} needs at least {per_side} samples of "
                    f"every survey{where} to compare the surveys; survey "
                    f"{label} has {len(rows)} sample(s)."
                )
        if shard is not None and self.batch_size < per_side:
            raise ValueError(
                f"Data-parallel domain adaptation over {shard[1]} processes needs "
                f"batch_size >= {per_side} (2 samples per survey per process); got "
                f"{self.batch_size}."
            )
        sizes = [len(rows) for rows in data]
        if self.paired and len(set(sizes)) > 1:
            counts = ", ".join(
                f"{n} of survey {label}"
                for label, n in zip(domains, sizes, strict=True)
            )
            raise ValueError(
                f"paired=True needs the same galaxies in every survey, row for row, "
                f"but there are {counts}."
            )

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sample_domain=None, X_target=None):
        """Adapt the VAE to every survey.

        Pass exactly one of ``sample_domain`` and ``X_target``.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w), (n_samples, h, w) or \
(n_samples, n_features)
            Source-survey samples, or both surveys' with ``sample_domain``. Any
            input :meth:`VAETransformer.fit` takes.
        y : None or array-like of shape (n_samples,)
            Ignored (the adaptation is unsupervised); accepted so that the
            estimator sits in a supervised Pipeline, where target rows may
            carry skada's masked label -1.
        sample_domain : array-like of shape (n_samples,), default=None
            Integer domain labels of the rows of ``X``: ``> 0`` source
            surveys, ``< 0`` target surveys (skada's convention), one label
            per survey; each survey gets its own decoder.
        X_target : array-like of shape (n_target, ...), default=None
            Target-survey samples, of the shape of ``X``'s. With
            ``paired=True``, row ``i`` is the galaxy of row ``i`` of ``X``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, sample_domain=sample_domain, X_target=X_target)

    def fit_transform(self, X, y=None, *, sample_domain=None, X_target=None):
        """Fit to every survey, then encode ``X``.

        Parameters
        ----------
        X, y, sample_domain, X_target
            As for :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_latent), dtype float32
            The latent means of ``X``.
        """
        self.fit(X, y, sample_domain=sample_domain, X_target=X_target)
        # With X_target, X is the source survey's.
        domain = "source" if sample_domain is None else None
        return self.transform(X, sample_domain=sample_domain, domain=domain)

    def _check_fit_options(self, *, sample_domain, X_target):
        if self.early_stopping:
            raise ValueError(
                f"{type(self).__name__} does not hold out validation data; set "
                f"early_stopping=False and choose max_epochs (e.g. by "
                f"GridSearchCV with skgalvae.metrics.mmd2_score)."
            )
        anchor, adaptation = self._resolved_method()
        needs_init = {
            f"anchor={anchor!r}": anchor is not None,
            f"adaptation={adaptation!r}": takes_centres(adaptation),
        }
        for setting, used in needs_init.items():
            if used and self.init is None:
                raise ValueError(
                    f"{setting} starts from a fitted source-survey VAE: pass it as "
                    f"init=FrozenEstimator(vae)."
                )
        if self.paired_weight > 0 and not self.paired:
            raise ValueError(
                f"paired_weight={self.paired_weight} needs paired=True: the "
                f"consistency term compares each galaxy's latents in two surveys."
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

    def _training_data(self, samples, base, *, sample_domain, X_target):
        domains, data, target_range = self._domains(samples, sample_domain, X_target)
        self._check_domain_sizes(domains, data)
        self.domains_ = domains
        low = samples.value_range[0]
        data_low = low if target_range is None else min(low, target_range[0])
        if self.output_activation == "auto":  # X_target's values count too
            self.output_activation_ = self._auto_output_activation(
                data_low, self.output_activation_
            )
        if target_range is not None:
            self._check_scale(target_range, "X_target")
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
        self.anchor_, self.adaptation_ = self._resolved_method()
        self.cluster_centres_ = None
        if takes_centres(self.adaptation_):
            sources = [d for d, lb in zip(data, domains, strict=True) if lb > 0]
            self.cluster_centres_ = self._source_clusters(base, sources)
        self.n_source_ = sum(
            len(d) for d, lb in zip(data, domains, strict=True) if lb > 0
        )
        self.n_target_ = sum(
            len(d) for d, lb in zip(data, domains, strict=True) if lb < 0
        )
        dataset = DomainDataset(*(self._dataset(d) for d in data))
        return dataset, init_state

    def _resolved_method(self):
        """Return ``(anchor, adaptation)`` with ``"auto"`` resolved.

        From a fitted source VAE (``init``), the default anchors the source
        and aligns cluster by cluster, the combination that transferred best
        across a real survey shift (SDSS to DECaLS); from scratch, one
        shared encoder and the study's MMD.
        """
        anchor = self.anchor
        if anchor == "auto":
            anchor = "source" if self.init is not None else None
        adaptation = self.adaptation
        if adaptation == "auto":
            adaptation = "cluster_mmd" if anchor is not None else "mmd"
        return anchor, adaptation

    def _source_clusters(self, base, sources):
        """k-means centres of ``base``'s latents of the source surveys' rows."""
        Z = np.concatenate([base._encode_data(rows)[0] for rows in sources])
        if len(Z) < self.n_clusters:
            raise ValueError(
                f"adaptation={self.adaptation_!r} clusters the source latents into "
                f"n_clusters={self.n_clusters} clusters, but the source surveys "
                f"have {len(Z)} sample(s); lower n_clusters."
            )
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        kmeans = KMeans(self.n_clusters, n_init=4, random_state=seed).fit(Z)
        return kmeans.cluster_centers_.astype(np.float32)

    def _after_fit(self, samples):
        super()._after_fit(samples)
        criterion = self.net_.criterion_
        self.adaptation_weight_ = float(criterion.adaptation_weights[self.adaptation_])

    # ---------------------------------------------------------------- inference
    def _domain_index(self, domain):
        """Return the decoder index of ``"source"``, ``"target"`` or a label."""
        check_is_fitted(self)
        if isinstance(domain, str):
            if domain in ("source", "target"):
                return 0 if domain == "source" else 1
        elif isinstance(domain, Integral) and not isinstance(domain, bool):
            matches = np.flatnonzero(self.domains_ == domain)
            if len(matches):
                return int(matches[0])
        raise ValueError(
            f"domain must be 'source', 'target' or one of the fitted surveys' labels "
            f"{self.domains_.tolist()} (which of {type(self).__name__}'s decoders "
            f"to use); got {domain!r}."
        )

    def _rows_by_decoder(self, sample_domain, n_rows, input_name):
        """Map per-row domain labels to decoder indices, refusing unknown ones."""
        labels = check_sample_domain(sample_domain, n_rows)
        known = np.isin(labels, self.domains_)
        if not known.all():
            row = int(np.flatnonzero(~known)[0])
            raise ValueError(
                f"sample_domain[{row}] is {labels[row]}, which is not a survey "
                f"{type(self).__name__} was fitted on (labels "
                f"{self.domains_.tolist()}); it has no decoder for the rows of "
                f"{input_name} it marks."
            )
        order = np.argsort(self.domains_)
        return order[np.searchsorted(self.domains_[order], labels)]

    def _per_decoder(self, run, data, sample_domain, domain, input_name):
        """Run ``run(rows, decoder_index)`` per survey; return rows in order."""
        if sample_domain is None:
            return run(data, self._domain_index(domain))
        indices = self._rows_by_decoder(sample_domain, len(data), input_name)
        out = None
        for index in np.unique(indices):
            rows = np.flatnonzero(indices == index)
            part = run(take_rows(data, rows), int(index))
            if out is None:
                out = np.empty((len(data), *part.shape[1:]), dtype=part.dtype)
            out[rows] = part
        return out

    def _encode(self, X, input_name="X", *, domain=None, sample_domain=None):
        """Return ``(mu, logvar)``, each row through its survey's encoder."""
        check_is_fitted(self)
        anchored = self.anchor_ in SEPARATE_ENCODER_ANCHORS
        if anchored and domain is None and sample_domain is None:
            raise ValueError(
                f"This {type(self).__name__} was fitted with anchor="
                f"{self.anchor_!r}: each survey has its own encoder, so encoding "
                f"needs the survey of the rows of {input_name}; pass "
                f"sample_domain=... (a label per row, of {self.domains_.tolist()}) "
                f"or domain='source', 'target' or a label."
            )
        if domain is not None:
            self._domain_index(domain)  # refuse an unknown survey first
        samples = self._read_samples(X, reset=False, input_name=input_name)
        if not anchored:
            if sample_domain is not None:
                check_sample_domain(sample_domain, len(samples.data))
            return self._encode_data(samples.data)
        n_latent = self.n_latent_
        both = self._per_decoder(
            lambda rows, index: np.hstack(self._encode_data(rows, domain=index)),
            samples.data,
            sample_domain,
            domain,
            input_name,
        )
        return both[:, :n_latent], both[:, n_latent:]

    def transform(self, X, sample_domain=None, *, domain=None):
        """Encode ``X`` to the posterior means ``mu``.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples of any survey.
        sample_domain : array-like of shape (n_samples,), default=None
            Domain labels of the rows, as skada's pipelines pass them. With
            ``anchor="source"`` or ``"decoder"`` each row goes through its
            survey's encoder; otherwise the encoder is shared and they are
            only checked for shape and sign.
        domain : {"source", "target"} or int, default=None
            The survey of every row, when ``sample_domain`` is not given:
            the first source, the first target, or a label of ``domains_``.
            With ``anchor="source"`` or ``"decoder"`` one of the two is
            needed.

        Returns
        -------
        ndarray of shape (n_samples, n_latent), dtype float32
            Latent means, the features used downstream.
        """
        return self._encode(X, domain=domain, sample_domain=sample_domain)[0]

    def transform_std(self, X, sample_domain=None, *, domain=None):
        """Return the posterior standard deviations ``sigma`` of ``X``.

        Parameters
        ----------
        X, sample_domain, domain
            As for :meth:`transform`.

        Returns
        -------
        ndarray of shape (n_samples, n_latent), dtype float32
            ``exp(logvar / 2)`` of the approximate posterior.
        """
        _, logvar = self._encode(X, domain=domain, sample_domain=sample_domain)
        sigma = np.exp(0.5 * logvar, dtype=np.float32)
        return _wrap_data_with_container("transform", sigma, X, self)

    def inverse_transform(self, X, *, domain="source", sample_domain=None):
        """Decode latent vectors with the surveys' decoders.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_latent)
            Latent vectors, e.g. from :meth:`transform`.
        domain : {"source", "target"} or int, default="source"
            Which survey's decoder renders them: the first source, the first
            target, or a label of ``domains_``.
        sample_domain : array-like of shape (n_samples,), default=None
            Per-row labels of ``domains_``: each row is rendered by its
            survey's decoder. Overrides ``domain``.

        Returns
        -------
        ndarray of shape ``(n_samples, *input_shape_)``, dtype float32
            Decoded samples, in the units and layout of the training data.
        """
        check_is_fitted(self)
        Z = self._check_latents(X)
        return self._per_decoder(
            lambda z, index: self._decode(z, domain=index),
            Z,
            sample_domain,
            domain,
            "X",
        )

    def reconstruct(self, X, *, domain="source", sample_domain=None):
        """Encode ``X`` and decode its posterior means with the surveys' decoders.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to reconstruct.
        domain : {"source", "target"} or int, default="source"
            Which survey's decoder to use, as for :meth:`inverse_transform`.
        sample_domain : array-like of shape (n_samples,), default=None
            Per-row labels of ``domains_``: each row is reconstructed by its
            survey's decoder. Overrides ``domain``.

        Returns
        -------
        ndarray, same shape as ``X``, dtype float32
        """
        if sample_domain is None:
            return self._reconstruct(X, domain=self._domain_index(domain))
        check_is_fitted(self)
        samples = self._read_samples(X, reset=False)
        out = self._per_decoder(
            lambda rows, index: self._reconstruct(rows, domain=index),
            samples.data,
            sample_domain,
            domain,
            "X",
        )
        return out.reshape((len(out), *samples.input_shape))

    def sample(self, n_samples=1, random_state=None, *, domain="source"):
        """Decode draws from the prior ``N(0, I)`` as one survey would see them.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the latent draws; the same seed gives the same galaxies
            in every survey.
        domain : {"source", "target"} or int, default="source"
            Which survey's decoder renders them, as for
            :meth:`inverse_transform`.

        Returns
        -------
        ndarray of shape ``(n_samples, *input_shape_)``, dtype float32
        """
        return self._sample(n_samples, random_state, domain=self._domain_index(domain))

    def score_samples_ssim(self, X, *, domain="source"):
        """Return the SSIM between each image and its reconstruction.

        Parameters
        ----------
        X : array-like of images
            Images of the survey named by ``domain``.
        domain : {"source", "target"} or int, default="source"
            Which survey's decoder reconstructs them.

        Returns
        -------
        ndarray of shape (n_samples,), dtype float32
        """
        return self._score_samples_ssim(X, domain=self._domain_index(domain))

    def reconstruction_error(self, X, metric: str = "mse", *, domain="source"):
        """Return how badly each sample of ``X`` is reconstructed.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples of the survey named by ``domain``.
        metric : {"mse", "mae", "ssim"}, default="mse"
            As for :meth:`VAETransformer.reconstruction_error`.
        domain : {"source", "target"} or int, default="source"
            Which survey's decoder reconstructs them.

        Returns
        -------
        ndarray of shape (n_samples,), dtype float64
        """
        return self._reconstruction_error(X, metric, domain=self._domain_index(domain))

    def score(self, X, y=None, *, sample_domain=None):
        """Return the mean reconstruction quality of ``X``; higher is better.

        Mean SSIM for images, ``R^2`` for feature vectors, as for
        :class:`VAETransformer`. Each row is reconstructed by its survey's
        decoder; rows of a label the model was not fitted on (a target
        survey seen only now, say) by the first target survey's decoder when
        negative, the first source survey's when positive.

        Parameters
        ----------
        X : array-like of the fit's kind (images or features)
            Samples to reconstruct.
        y : None
            Ignored.
        sample_domain : array-like of shape (n_samples,), default=None
            Domain labels of the rows (``> 0`` source, ``< 0`` target); all
            rows are of the first source survey when ``None``.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        if sample_domain is None:
            return super().score(X)
        samples = self._read_samples(X, reset=False)
        labels = check_sample_domain(sample_domain, len(samples.data))
        fallback = np.where(labels > 0, self.domains_[0], self.domains_[1])
        labels = np.where(np.isin(labels, self.domains_), labels, fallback)
        parts = []
        for label in np.unique(labels):
            rows = np.flatnonzero(labels == label)
            parts.append(
                self.net_.reconstruct_iter(
                    self._dataset(take_rows(samples.data, rows)),
                    self.batch_size,
                    domain=self._domain_index(int(label)),
                )
            )
        return self._score_of(itertools.chain.from_iterable(parts))


# The VAE's parameters are documented once, in VAETransformer (as skorch shares
# NeuralNet's parameter docs with its subclasses).
DomainAdaptedVAETransformer.__doc__ = (
    DomainAdaptedVAETransformer.__doc__ or ""
).replace(
    "    {vae_parameters}\n",
    _vae_parameters_doc(exclude=_NOT_HERE, estimator=DomainAdaptedVAETransformer),
)
