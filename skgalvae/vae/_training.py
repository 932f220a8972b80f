"""Training of the VAE estimators: the net, its optimiser, stopping and monitors.

:class:`TrainingMixin` gives every VAE estimator its ``fit``: it builds the
skorch net from the estimator's parameters and trains it (warm starts,
resumes from a checkpoint (``_checkpoints``), data-parallel ranks). The
functions below it read the estimator's parameters and return what the net
takes, so every VAE estimator trains the same way.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from skorch.callbacks import Checkpoint, EarlyStopping, LRScheduler

from ..nn import ArrayDataset, EpochProgressBar, KLWarmup, ReconstructionSSIM, VAENet
from ..nn._device import resolve_channels_last, resolve_device, resolve_precision
from ..nn.architectures import check_network_input
from ..nn.callbacks import LatentKL
from ..nn.data import FixedSplit, take_rows
from ..nn.distributed import broadcast_seed, data_parallel_device, data_parallel_rank
from ..nn.domain_data import DomainDataset
from ..nn.likelihoods import check_noise
from ..nn.net import core_module
from ..utils._rows import evenly_spaced_rows
from ._checkpoints import (
    CHECKPOINT_FILES,
    check_resumed_epochs,
    load_checkpoint,
    open_checkpoint,
)
from ._scale import diagnose_divergence

#: Smallest inference batch on CUDA with ``inference_batch_size="auto"``.
CUDA_INFERENCE_BATCH_SIZE = 1024

#: Optimisers by the name the ``optimizer`` parameter takes.
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}

#: Rows of the training data the active-latent count looks at, at most.
N_DIAGNOSTIC_ROWS = 4096

#: ``Var_x E[z_j | x]`` above which latent ``j`` counts as active
#: (Burda, Grosse & Salakhutdinov 2016).
ACTIVE_VARIANCE = 0.01


def optimizer_settings(estimator):
    """Return the net's ``optimizer`` and ``optimizer__*`` keyword arguments."""
    params = {
        f"optimizer__{key}": value
        for key, value in (estimator.optimizer_params or {}).items()
    }
    return {"optimizer": OPTIMIZERS[estimator.optimizer], **params}


def validation_split(dataset, fraction, rng, estimator_name):
    """Hold out a random ``fraction`` of ``dataset`` for validation.

    Parameters
    ----------
    dataset : ArrayDataset
        The training data.
    fraction : float
        Share of the rows to hold out, in (0, 1).
    rng : numpy.random.RandomState
        Picks the rows.
    estimator_name : str
        For error messages.

    Returns
    -------
    train : ArrayDataset
        The remaining rows.
    split : FixedSplit
        skorch's ``train_split``, giving the held-out rows.
    """
    n = len(dataset)
    n_valid = int(np.ceil(fraction * n))
    if n_valid < 1 or n - n_valid < 1:
        raise ValueError(
            f"early_stopping needs at least one training and one validation sample; "
            f"validation_fraction={fraction} of {n} samples leaves {n - n_valid} "
            f"for training and {n_valid} for validation ({estimator_name})."
        )
    order = rng.permutation(n)
    valid_rows = np.sort(order[:n_valid])
    train_rows = np.sort(order[n_valid:])
    train = ArrayDataset(take_rows(dataset.array, train_rows), dataset.scale)
    valid = ArrayDataset(take_rows(dataset.array, valid_rows), dataset.scale)
    return train, FixedSplit(valid)


def _silent(*args, **kwargs):
    """Print nothing (a sink for skorch's EarlyStopping message)."""


def fit_callbacks(estimator, data_range, *, shard=None, validation=False):
    """Return the callbacks of one fit of ``estimator``.

    Monitors (training SSIM, per-latent KL, and with ``validation`` the
    validation SSIM), the KL warm-up, the learning-rate schedule, early
    stopping, the progress display, and then the user's own callbacks, which
    are passed on as they are so that they receive the fit's events.

    Parameters
    ----------
    estimator : BaseVAE
        The estimator being fitted (its parameters and fitted attributes).
    data_range : float
        Dynamic range of the images as the network sees them.
    shard : tuple or None, default=None
        ``(rank, world_size)`` when training data-parallel.
    validation : bool, default=False
        Whether the net holds out validation data.

    Returns
    -------
    list of (str, skorch.callbacks.Callback)
    """
    callbacks = []
    if estimator.kl_warmup:
        callbacks.append(("kl_warmup", KLWarmup(estimator.kl_warmup)))
    if estimator._is_image:
        callbacks.append(("train_ssim", ReconstructionSSIM(data_range)))
        if validation:
            callbacks.append(
                (
                    "valid_ssim",
                    ReconstructionSSIM(data_range, name="valid_ssim", on="valid"),
                )
            )
    callbacks.append(("kl_per_latent", LatentKL()))
    if estimator.lr_schedule == "cosine":
        callbacks.append(
            (
                "lr_schedule",
                LRScheduler(
                    policy="CosineAnnealingLR",
                    T_max=estimator.max_epochs,
                    step_every="epoch",
                ),
            )
        )
    if validation:
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_loss",
                    patience=estimator.n_iter_no_change,
                    # tol is per value: the loss is summed over the values.
                    threshold=estimator.tol * estimator.n_features_in_,
                    threshold_mode="abs",
                    load_best=True,
                    sink=print if estimator.verbose >= 2 else _silent,
                ),
            )
        )
    if estimator.checkpoint_dir is not None:
        checkpoint = Checkpoint(
            monitor=None,  # every epoch
            dirname=str(estimator.checkpoint_dir),
            **CHECKPOINT_FILES,
        )
        callbacks.append(("checkpoint", checkpoint))
    main_process = shard is None or shard[0] == 0
    if estimator.verbose == 1 and main_process:  # one bar per fit
        bar = EpochProgressBar(desc=type(estimator).__name__)
        callbacks.append(("progress", bar))
    return callbacks + list(estimator.callbacks or [])


@torch.inference_mode()
def active_latents(net, dataset, batch_size, max_rows=N_DIAGNOSTIC_ROWS):
    """Which latents the fitted ``net`` uses: ``Var_x E[z_j | x] > 0.01``.

    Parameters
    ----------
    net : VAENet
        A fitted net.
    dataset : ArrayDataset or DomainDataset
        Training data (the source survey's, for domain adaptation); at most
        ``max_rows`` rows, evenly spaced, are encoded.
    batch_size : int
        Rows per encoding batch.
    max_rows : int, default=4096
        Most rows to encode.

    Returns
    -------
    ndarray of bool, shape (n_latent,)
    """
    if isinstance(dataset, DomainDataset):
        dataset = dataset.source
    n = len(dataset)
    rows = evenly_spaced_rows(n, max_rows)
    subset = ArrayDataset(take_rows(dataset.array, rows), dataset.scale)
    means = torch.cat([mu.double() for mu, _ in net.encode_iter(subset, batch_size)])
    if len(means) < 2:
        return np.ones(means.shape[1], dtype=bool)
    return (means.var(dim=0) > ACTIVE_VARIANCE).cpu().numpy()


class TrainingMixin:
    """Build the skorch net and train it: ``fit`` of every VAE estimator.

    Mixed into :class:`~skgalvae.vae._base.BaseVAE`; reads its parameters.
    """

    # --------------------------------------------------------------------- net
    def _module_params(self):
        return {
            "module__sample_shape": self.sample_shape_,
            "module__n_latent": self.n_latent,
            "module__hidden_dims": self.hidden_dims_,
            "module__output_activation": self.output_activation_,
            "module__architecture": self.architecture_,
        }

    @property
    def _n_bands(self):
        """Bands of the images (one noise scale each); 1 for feature vectors."""
        return self.sample_shape_[0] if self._is_image else 1

    def _criterion_params(self):
        """Return the criterion's parameters as ``VAENet`` keyword arguments."""
        return {
            "criterion__likelihood": self.likelihood_,
            "criterion__noise": check_noise(
                self.noise, self._n_bands, self.pixel_scale_
            ),
            "criterion__n_bands": self._n_bands,
            "criterion__kl_weight": self.kl_weight,
            "criterion__free_bits": self.free_bits,
            "criterion__invariance": self.invariance,
        }

    def _build_net(self, device, callbacks=(), shard=None, train_split=None, seed=0):
        """Return an uninitialised :class:`~skgalvae.nn.VAENet` for this fit.

        ``shard`` is ``(rank, world_size)`` to train data-parallel;
        ``train_split`` holds out the validation data (skorch's parameter);
        ``seed`` seeds the weights and the net's own generators.
        """
        parallel = {}
        if shard is not None:
            parallel = {"data_parallel": True, "iterator_train__shard": shard}
        return VAENet(
            self._module_class,
            **self._module_params(),
            **optimizer_settings(self),
            **self._criterion_params(),
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            augment=self.augment,
            random_state=seed,
            train_split=train_split,
            device=device,
            precision=resolve_precision(self.precision, device),
            channels_last=resolve_channels_last(
                self.channels_last, device, len(self.sample_shape_) == 3
            ),
            iterator_train__shuffle=True,
            iterator_train__stage=self.stage_to_device,
            iterator_valid__stage=self.stage_to_device,
            compile=self.compile,
            callbacks=list(callbacks),
            **self._net_params(),
            verbose=int(self.verbose >= 2),  # skorch's per-epoch table
            **parallel,
        )

    def _net_params(self):
        """Further ``VAENet`` keyword arguments of a subclass."""
        return {}

    def _dataset(self, data):
        """Wrap an array of samples for the net, scaled by ``pixel_scale_``."""
        return ArrayDataset(data, scale=self.pixel_scale_)

    def _fit_callbacks(self, data_range, shard=None, validation=False):
        """Return the net's callbacks: monitors, schedules, stopping, the user's."""
        return fit_callbacks(self, data_range, shard=shard, validation=validation)

    def _set_fit_attributes(self, samples, hidden_dims, default_output_activation):
        """Set the fitted attributes that describe the training data.

        ``hidden_dims`` and ``default_output_activation`` are what
        :func:`~skgalvae.nn.architectures.check_network_input` resolved.
        """
        low, high = samples.value_range
        self.n_features_in_ = int(np.prod(samples.sample_shape))
        self.sample_shape_ = samples.sample_shape
        self.input_shape_ = samples.input_shape
        self.image_shape_ = samples.sample_shape if samples.is_image else None
        self.input_is_uint8_ = samples.is_uint8
        if self.pixel_scale == "auto":
            self.pixel_scale_ = 255.0 if self.input_is_uint8_ else 1.0
        else:
            self.pixel_scale_ = float(self.pixel_scale)
        self.architecture_ = self.architecture
        self.likelihood_ = self.likelihood
        self.hidden_dims_ = hidden_dims
        if self.output_activation == "auto":
            self.output_activation_ = self._auto_output_activation(
                low, default_output_activation
            )
        else:
            self.output_activation_ = self.output_activation
        if self.input_is_uint8_ and self.pixel_scale == "auto":
            self.data_range_ = 255.0
        else:
            self.data_range_ = float(high - low) if high > low else 1.0
        self.input_range_ = (float(low), float(high))
        self.device_ = resolve_device(self.device)

    @staticmethod
    def _auto_output_activation(low, default):
        """Resolve ``output_activation="auto"`` for data down to ``low``.

        Identity for signed data (a non-negative output could not fit it),
        else the architecture's ``default`` (the study's ReLU for "xu2023").
        """
        return "identity" if low < 0 else default

    def _train_net(self, dataset, init_state=None):
        """Train a new net on ``dataset``; set ``net_`` and ``history_``.

        With ``init_state`` (a module ``state_dict``), the module starts from
        those weights through its ``load_vae_state`` instead of at random.
        """
        shard = data_parallel_rank()
        if shard is not None and min(self.batch_size, len(dataset)) < shard[1]:
            raise ValueError(
                f"Data-parallel training over {shard[1]} processes needs at least "
                f"one row per process in every batch; got batch_size="
                f"{self.batch_size} (the global batch) and {len(dataset)} samples."
            )
        if shard is not None:  # each process on its own GPU
            self.device_ = data_parallel_device(self.device_)
        rng = check_random_state(self.random_state)
        seed = rng.randint(np.iinfo(np.int32).max)
        # Every process must shuffle and draw noise alike: rank 0's seed.
        seed = broadcast_seed(seed)
        train_split = None
        if self.early_stopping:
            dataset, train_split = validation_split(
                dataset, self.validation_fraction, rng, type(self).__name__
            )
        if shard is not None and self.checkpoint_dir is not None:
            raise NotImplementedError(
                f"checkpoint_dir is not available when training data-parallel (this "
                f"process is rank {shard[0]} of {shard[1]}); set checkpoint_dir=None."
            )
        resume = self.checkpoint_dir is not None and open_checkpoint(self, dataset)
        warm = None if resume else self._warm_net(dataset)
        callbacks = self._fit_callbacks(
            self.data_range_ / self.pixel_scale_, shard, train_split is not None
        )
        net = self._build_net(self.device_, callbacks, shard, train_split, seed)
        net.initialize()
        if warm is not None:
            core_module(net.module_).load_state_dict(warm)
        elif init_state is not None:
            core_module(net.module_).load_vae_state(init_state)
        if shard is not None and (warm is not None or init_state is not None):
            _sync_parameters(net.module_)  # DDP copied the weights before
        if resume:  # weights, optimiser, likelihood and history
            load_checkpoint(net, self.checkpoint_dir)
            check_resumed_epochs(self, len(net.history))
        epochs = self.max_epochs - len(net.history)
        if epochs > 0:
            try:
                net.partial_fit(dataset, None, epochs=epochs)
            except KeyboardInterrupt:
                raise KeyboardInterrupt(self._interrupted(net)) from None
            except FloatingPointError as exc:
                data = getattr(dataset, "source", dataset).array
                raise FloatingPointError(
                    diagnose_divergence(exc, data, self.lr)
                ) from None
        if shard is not None:
            # The fitted module is used (and pickled) alone, outside the group.
            net.module_ = core_module(net.module_)
        self.net_ = net
        self.history_ = net.history
        self._set_diagnostics(dataset)
        return self

    def _interrupted(self, net):
        """Say where an interrupted fit stopped, and what is kept of it."""
        message = (
            f"{type(self).__name__}.fit was interrupted in epoch {len(net.history)} "
            f"of {self.max_epochs}; it returns no model."
        )
        if self.checkpoint_dir is None:
            return message
        saved = len(net.history) - 1  # the cut epoch is not saved
        if saved < 1:
            return f"{message} No epoch finished, so checkpoint_dir holds none."
        return (
            f"{message} checkpoint_dir={str(self.checkpoint_dir)!r} holds its first "
            f"{saved} epoch(s): fit again with the same settings to resume."
        )

    def _warm_net(self, dataset):
        """Return the fitted weights to continue from, with ``warm_start``."""
        fitted = getattr(self, "net_", None)
        if not self.warm_start or fitted is None:
            return None
        module = core_module(fitted.module_)
        network = {
            "architecture": (module.architecture, self.architecture_),
            "hidden_dims": (tuple(module.hidden_dims), tuple(self.hidden_dims_)),
            "output_activation": (module.output_activation, self.output_activation_),
        }
        changed = {k: v for k, v in network.items() if v[0] != v[1]}
        if changed:
            described = ", ".join(
                f"{k}={old!r} -> {new!r}" for k, (old, new) in changed.items()
            )
            raise ValueError(
                f"warm_start=True continues the fitted network, but its "
                f"{', '.join(changed)} changed ({described}): it cannot hold the "
                f"weights. Set them back, or warm_start=False to train a new one."
            )
        if module.sample_shape != tuple(self.sample_shape_) or (
            module.n_latent != self.n_latent
        ):
            raise ValueError(
                f"warm_start=True continues the fitted network, which takes samples "
                f"of shape {module.sample_shape} and has n_latent={module.n_latent}; "
                f"got samples of shape {tuple(self.sample_shape_)} and n_latent="
                f"{self.n_latent}. Set warm_start=False to train a new one."
            )
        return module.state_dict()  # the new net's load_state_dict copies it

    def _set_diagnostics(self, dataset):
        """Set ``active_latents_``, ``n_active_latents_`` and ``noise_scale_``."""
        self.n_latent_ = core_module(self.net_.module_).n_latent
        self.active_latents_ = active_latents(
            self.net_, dataset, self._inference_batch_size
        )
        self.n_active_latents_ = int(self.active_latents_.sum())
        scale = self.net_.criterion_.likelihood.noise_scale()
        self.noise_scale_ = None if scale is None else scale * self.pixel_scale_

    @property
    def _inference_batch_size(self):
        """Rows per inference batch: ``inference_batch_size``, resolved."""
        size = self.inference_batch_size
        if size != "auto":
            return size
        if torch.device(self.device_).type == "cuda":
            return max(self.batch_size, CUDA_INFERENCE_BATCH_SIZE)
        return self.batch_size

    @property
    def _is_image(self):
        return len(self.sample_shape_) == 3

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, bands, h, w), (n_samples, h, w) or \
(n_samples, n_features)
            Training images (square, side a multiple of 64 with the default
            ``hidden_dims``) or feature vectors. Any real numeric dtype; uint8
            images are scaled by 1/255 on the device. Memmaps are read in
            batches. Files are streamed from disk batch by batch: pass a list
            or 1-D array of FITS or JPEG/PNG paths, or a
            :class:`skgalvae.io.FITSDataset` (or other lazy collection) to set
            the reading options.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X)

    def _fit(self, X, **fit_data):
        """Fit on ``X``: the one fit of every VAE estimator.

        Subclasses change it through the hooks below; ``fit_data`` (e.g. the
        target survey) goes to each of them. Parameters are validated by
        ``fit``'s ``_fit_context``.
        """
        self._check_hyperparameters()
        self._check_fit_options(**fit_data)
        samples = self._read_samples(X, reset=True)
        network = check_network_input(
            self.architecture,
            self.hidden_dims,
            samples.sample_shape,
            "X",
            type(self).__name__,
        )
        self._check_fit_samples(samples, **fit_data)
        base = self._initial_vae()
        self._set_fit_attributes(samples, *network)
        self._check_scale(samples.value_range, "X")
        dataset, init_state = self._training_data(samples, base, **fit_data)
        self._train_net(dataset, init_state)
        self._after_fit(samples)
        return self

    # Hooks of _fit, in the order it calls them.
    def _check_fit_options(self, **fit_data):
        """Refuse parameter and metadata combinations before reading ``X``."""

    def _check_fit_samples(self, samples, **fit_data):
        """Refuse training data the estimator cannot fit (after validation)."""

    def _training_data(self, samples, base, **fit_data):
        """Return the training dataset and the module state to start from.

        ``base`` is the fitted ``init`` VAE or None; the state is None to
        start from random weights.
        """
        return self._dataset(samples.data), None

    def _after_fit(self, samples):
        """Set what the trained net determines (e.g. clusters)."""


def _sync_parameters(module):
    """Give every process rank 0's parameters and buffers."""
    for tensor in core_module(module).state_dict().values():
        torch.distributed.broadcast(tensor, src=0)
