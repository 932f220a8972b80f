"""The skorch net that trains and runs a :class:`~skgalvae.nn.modules.VAEModule`.

It changes skorch's ``NeuralNet`` through its hooks only:

- ``infer`` runs the module under autocast (bf16 on CUDA by default) with
  channels_last weights;
- ``train_step_single`` draws the batch's augmentation and reparameterisation
  noise from the fit's own generator and hands them to the module, so that a
  compiled module holds no random draw (``torch.compile`` compiles the module
  only, with the batch dimension dynamic);
- ``get_loss`` evaluates the criterion's named terms and keeps them, so the
  history records reconstruction and KL (and, for domain adaptation, the
  target side and MMD) separately;
- ``run_single_epoch`` records per-batch losses with one device sync per epoch
  instead of one ``.item()`` per batch, which otherwise stalls the GPU queue.

Batches come from :class:`~skgalvae.nn.data.DeviceBatchLoader`, already on the
device. For domain adaptation the training iterator is a
:class:`~skgalvae.nn.domain_data.DomainBatchLoader`, whose batches are dicts
``{"x", "x_1", ...}``: skorch passes them to the module as keyword arguments,
and this net passes them to the criterion the same way.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading

import torch
from skorch import NeuralNet
from skorch.dataset import get_len

from .augment import dihedral_augment, survey_view
from .data import ArrayDataset, DeviceBatchLoader
from .distributed import all_reduce_sum, average_gradients, unwrap_ddp
from .losses import ELBOLoss
from .networks import set_memory_format
from .pose import align_to_input, match_pose
from .random import fit_generators, seeded_torch

_AUTOCAST_DTYPES = {"bfloat16": torch.bfloat16}


def _check_finite_losses(table, names, epoch):
    """Stop a diverged fit with a message that says where and what to do.

    The error's ``where`` attribute holds the epoch, batch and loss terms,
    for callers that know more about the likely cause.
    """
    for batch, row in enumerate(table):
        if not all(math.isfinite(value) for value in row):
            terms = ", ".join(
                f"{name}={value:.4g}"
                for name, value in zip(["loss", *names], row, strict=True)
            )
            where = f"epoch {epoch}, batch {batch} ({terms})"
            error = FloatingPointError(
                f"Training diverged in {where}. Values far from unit scale (e.g. "
                f"bright stars in raw nanomaggies) make the loss overflow: stretch "
                f"or scale the images first (skgalvae.preprocessing.AsinhStretch, "
                f"MTFStretch or BandScaler); otherwise lower lr."
            )
            error.where = where
            raise error


def core_module(module):
    """Return the module itself, from under DDP and ``torch.compile`` wrappers.

    Its own methods (``encode``, ``decode``, ``load_vae_state``) and its
    state dict's keys are those of the plain module. The wrappers may nest
    either way round (skorch compiles the DDP-wrapped module).
    """
    while True:
        inner = unwrap_ddp(module)
        inner = getattr(inner, "_orig_mod", inner)
        if inner is module:
            return module
        module = inner


def _mark_batch_dynamic(tensors):
    """Tell ``torch.compile`` that the first dimension of each tensor varies.

    The last batch of an epoch is usually smaller; marked dynamic from the
    start, it runs the same compiled graph instead of compiling another.
    """
    for tensor in tensors:
        if torch.is_tensor(tensor) and tensor.ndim > 0 and len(tensor) > 1:
            torch._dynamo.maybe_mark_dynamic(tensor, 0)


@contextlib.contextmanager
def _cudnn_autotuned(device):
    """On CUDA, let cuDNN time its convolution algorithms (the shapes repeat)."""
    if torch.device(device).type != "cuda":
        yield
        return
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def _global_batch_means(table, sizes, shards):
    """Turn each process's per-batch means into the global batches' means.

    ``table`` rows are this process's batch means of each term; weighted by
    its rows and summed over processes they give the global batch sums.
    """
    local_rows = torch.tensor(sizes, dtype=table.dtype, device=table.device)
    table = all_reduce_sum(table * local_rows[:, None])
    global_rows = [batch_rows for _, _, batch_rows in shards]
    divisor = torch.tensor(global_rows, dtype=table.dtype, device=table.device)
    return table / divisor[:, None], global_rows


@contextlib.contextmanager
def _noting_interrupts():
    """Yield a list that gets an entry when SIGINT (Ctrl+C) arrives in the block.

    skorch callbacks stop training by raising ``KeyboardInterrupt`` too
    (``EarlyStopping`` does); this tells a user's interrupt from theirs. The
    previous handler still runs. Signals reach the main thread only, so
    elsewhere nothing is installed and the list stays empty.
    """
    arrived = []
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous
    ):
        yield arrived
        return

    def note(signum, frame):
        arrived.append(signum)
        previous(signum, frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield arrived
    finally:
        signal.signal(signal.SIGINT, previous)


class _TrainingInterrupted(BaseException):
    """Carries a KeyboardInterrupt past skorch's ``partial_fit``, which swallows it.

    Not an ``Exception`` nor a ``KeyboardInterrupt``, so nothing on the way
    catches it; :meth:`VAENet.partial_fit` turns it back into the interrupt.
    """

    def __init__(self, epoch):
        super().__init__(epoch)
        self.epoch = epoch


class VAENet(NeuralNet):
    """skorch ``NeuralNet`` for VAEs, with a fast device path.

    Parameters
    ----------
    module : type or nn.Module
        Usually :class:`~skgalvae.nn.modules.VAEModule`; its forward returns
        ``(x_hat, mu, logvar)``.
    criterion : type, default=ELBOLoss
        Returns a dict of named scalar terms with the total under ``"loss"``.
    precision : {"float32", "bfloat16"}, default="float32"
        Autocast dtype of the forward pass; parameters stay float32.
    channels_last : bool, default=False
        Keep convolution weights in ``torch.channels_last`` format.
    data_parallel : bool, default=False
        Wrap the module in ``DistributedDataParallel`` (needs an initialised
        process group; see the user guide, "Survey scale"). Give the training
        iterator ``shard=(rank, world_size)`` with it.
    augment : {None, "dihedral"}, default=None
        ``"dihedral"``: each training image is flipped and turned by a random
        element of the square's symmetry group (:func:`dihedral_augment`);
        the images of a domain-adaptation batch pair get the same ones.
    consistency_view : dict or None, default=None
        Ranges of the views of a consistency term
        (:func:`~skgalvae.nn.augment.survey_view`'s keyword arguments);
        None uses its defaults. The term itself is the criterion's
        ``consistency_weight``.
    random_state : int or None, default=None
        Seed of the initial weights and of the net's own generators
        (``shuffle_generator_``, ``draw_generator_``), from which training
        draws its shuffling, reparameterisation noise and augmentation
        (:mod:`skgalvae.nn.random`): fits in parallel threads do not disturb
        each other. None draws a seed from torch's global generator.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(
        self,
        module,
        criterion=ELBOLoss,
        precision="float32",
        channels_last=False,
        iterator_train=DeviceBatchLoader,
        iterator_valid=DeviceBatchLoader,
        train_split=None,
        data_parallel=False,
        augment=None,
        random_state=None,
        consistency_view=None,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            train_split=train_split,
            **kwargs,
        )
        self.precision = precision
        self.channels_last = channels_last
        self.data_parallel = data_parallel
        self.augment = augment
        self.random_state = random_state
        self.consistency_view = consistency_view
        self._shard = None
        self._with_view = False

    # -- set-up ------------------------------------------------------------------
    def initialize(self):
        """Build the module (seeded) and the fit's own generators."""
        seed = self.random_state
        if seed is None:
            seed = int(torch.randint(2**31 - 1, ()))
        with seeded_torch(seed, self.device):
            super().initialize()
        self.shuffle_generator_, self.draw_generator_ = fit_generators(
            seed, self.device
        )
        return self

    def initialize_module(self):
        """Build the module, to channels_last and into DDP when asked.

        DDP wraps the module on its device (``self.device``: under
        ``torchrun``, each process's own GPU), as it requires; skorch then
        compiles the wrapped module when ``compile=True``.
        """
        super().initialize_module()
        if self.channels_last:
            set_memory_format(self.module_, torch.channels_last)
        if self.data_parallel:
            device = torch.device(self.device)
            self.module_ = torch.nn.parallel.DistributedDataParallel(
                self.module_.to(device),
                device_ids=[device.index] if device.type == "cuda" else None,
            )
        return self

    def torch_compile(self, module, name):
        """Compile the module when ``compile=True``; the criterion stays eager.

        The criteria keep numbers that change as training goes (a KL
        warm-up's weight, the domain-adaptation loss's balancing weights and
        counters): compiled, each change would recompile them. Their work is
        a few element-wise passes beside the network's.
        """
        if name != "module":
            return module
        return super().torch_compile(module, name)

    def initialize_criterion(self):
        """Build the criterion, and give it the encoder's weights if it wants them.

        :class:`~skgalvae.nn.DomainAdaptationLoss` balances its terms by their
        gradients on the encoder it trains (the shared one, or the target
        survey's when the source is anchored).
        """
        super().initialize_criterion()
        if hasattr(self.criterion_, "shared_parameters"):
            module = core_module(self.module_)
            encoder = getattr(module, "adapted_encoder", module.encoder)
            self.criterion_.shared_parameters = list(encoder.parameters())
        return self

    def _set_shard(self, shard):
        """Note the share of the global batch this process holds (or None)."""
        self._shard = shard

    def get_iterator(self, dataset, training=False):
        """Return a :class:`DeviceBatchLoader` delivering to this net's device."""
        prefix = "iterator_train" if training else "iterator_valid"
        params = self.get_params_for(prefix)
        params.setdefault("batch_size", self.batch_size)
        params.setdefault("device", self.device)
        params.setdefault("channels_last", self.channels_last)
        if training:
            params.setdefault("generator", getattr(self, "shuffle_generator_", None))
        if params["batch_size"] == -1:
            params["batch_size"] = len(dataset)
        iterator = self.iterator_train if training else self.iterator_valid
        return iterator(dataset, **params)

    # -- training ------------------------------------------------------------------
    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Run skorch's loop; Ctrl+C leaves it as :class:`_TrainingInterrupted`.

        A ``KeyboardInterrupt`` raised by a callback to stop training
        (skorch's convention) still ends the loop quietly.
        """
        with _noting_interrupts() as interrupts, _cudnn_autotuned(self.device):
            try:
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
            except KeyboardInterrupt as exc:
                if interrupts:
                    raise _TrainingInterrupted(len(self.history)) from exc
                raise

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` (or ``epochs``) more epochs.

        Unlike skorch's, a ``KeyboardInterrupt`` (Ctrl+C) propagates: a cut
        fit raises instead of returning as if it had finished.
        """
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except _TrainingInterrupted as exc:
            raise KeyboardInterrupt(
                f"training interrupted in epoch {exc.epoch}"
            ) from exc.__cause__

    # -- forward and loss ----------------------------------------------------------
    def autocast(self):
        """Return the autocast context for the configured precision."""
        dtype = _AUTOCAST_DTYPES.get(self.precision)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=torch.device(self.device).type, dtype=dtype)

    def infer(self, x, **fit_params):
        """Run the module on a device-ready batch under autocast.

        A compiled module's batch dimension is marked dynamic. A batch whose
        loss back-propagates more than once (the domain-adaptation loss's
        gradient measurements) runs through the eager module: a compiled
        backward is run once per graph.
        """
        if not self.compile:
            with self.autocast():
                return super().infer(x, **fit_params)
        tensors = x.values() if isinstance(x, dict) else [x]
        _mark_batch_dynamic([*tensors, *fit_params.values()])
        module = self.module_
        measures = getattr(self.criterion_, "measures_next_batch", None)
        if module.training and measures is not None and measures():
            # Only the compile wrapper comes off: DDP, inside it, stays.
            module = getattr(module, "_orig_mod", module)
        with self.autocast():
            if isinstance(x, dict):  # as skorch's infer does
                return module(**self._merge_x_and_fit_params(x, fit_params))
            return module(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Evaluate the criterion's terms for one batch.

        A tensor batch ``X`` is scored as ``criterion(x_hat, X, mu, logvar,
        *more)`` for module outputs ``(x_hat, mu, logvar, *more)``
        (:class:`~skgalvae.nn.ELBOLoss`, :class:`~skgalvae.nn.GMMELBOLoss`); a
        dict batch of named inputs as
        ``criterion(y_pred, **X)`` (:class:`~skgalvae.nn.DomainAdaptationLoss`).
        """
        if isinstance(X, dict):
            terms = self.criterion_(y_pred, **X)
        else:
            # Modules may return more than (x_hat, mu, logvar): a mixture
            # prior's criterion also takes z and the prior's parameters.
            x_hat, mu, logvar, *more = y_pred
            view = None
            if self._with_view:  # the views' (mu, logvar) come last
                *more, view_mu, view_logvar = more
                view = (view_mu, view_logvar)
            terms = self.criterion_(x_hat, X, mu, logvar, *more, view=view)
        self._batch_terms.append(
            {k: v.detach() for k, v in terms.items() if k != "loss"}
        )
        share = self._loss_share(training)
        return terms["loss"] if share == 1.0 else terms["loss"] * share

    def train_step_single(self, batch, **fit_params):
        """One training step, on an augmented batch when ``augment`` asks.

        With a consistency term, each image's survey-like view
        (:func:`~skgalvae.nn.augment.survey_view`) is encoded beside it. The
        reparameterisation noise is drawn here too, after the augmentation,
        and passed to the module (:meth:`VAEModule.latent_noise
        <skgalvae.nn.modules.VAEModule.latent_noise>`).
        """
        X, y = batch
        generator = self.draw_generator_
        if self.augment == "dihedral":
            X = dihedral_augment(X, self._shard, generator)
        self._with_view = (
            getattr(self.criterion_, "consistency_weight", 0) > 0
            and torch.is_tensor(X)
            and X.ndim == 4
        )
        fit_params = dict(fit_params)
        if self._with_view:
            fit_params["x_view"] = survey_view(
                X,
                self._shard,
                generator,
                dihedral=self.invariance == "dihedral",
                **(self.consistency_view or {}),
            )
        core = core_module(self.module_)
        inputs = X if isinstance(X, dict) else {"x": X}
        fit_params["noise"] = core.latent_noise(
            **inputs, rows=self._shard, generator=generator
        )
        try:
            step = super().train_step_single((X, y), **fit_params)
        finally:
            self._with_view = False
        if self._shard is not None:
            # Trained numbers of the criterion (a learned noise scale) are
            # outside DDP's module: average their gradients here.
            average_gradients(self.criterion_.parameters())
        return step

    @property
    def invariance(self):
        """The criterion's ``invariance``: None, or ``"dihedral"`` (pose-free)."""
        return getattr(self.criterion_, "invariance", None)

    def _loss_share(self, training):
        """Weight of this process's batch-mean loss in data-parallel training.

        DDP averages gradients over processes; weighting each by its rows
        times the number of processes over the global batch's rows makes that
        average the gradient of the global batch mean, even for uneven shares.
        """
        if not training or self._shard is None:
            return 1.0
        low, high, batch_rows = self._shard
        return (high - low) * torch.distributed.get_world_size() / batch_rows

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run one epoch; record per-batch losses with a single device sync."""
        if iterator is None:
            return
        self._batch_terms = []
        losses, sizes, shards = [], [], []
        for batch in iterator:
            shard = getattr(iterator, "current_shard", None) if training else None
            self._set_shard(shard)
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            share = self._loss_share(training)
            losses.append(loss if share == 1.0 else loss / share)
            sizes.append(get_len(batch[0]))
            shards.append(shard)
            self.notify("on_batch_end", batch=batch, training=training, **step)
        self._set_shard(None)
        names = list(self._batch_terms[0]) if self._batch_terms else []
        if losses:
            columns = [torch.stack(losses).float()] + [
                torch.stack([terms[name] for terms in self._batch_terms]).float()
                for name in names
            ]
            table = torch.stack(columns, dim=1)
            if shards[0] is not None:
                table, sizes = _global_batch_means(table, sizes, shards)
            table = table.cpu().tolist()  # the one sync
        else:
            table = []
        if training:
            _check_finite_losses(table, names, len(self.history))
        for row, size in zip(table, sizes, strict=True):
            self.history.new_batch()
            self.history.record_batch(prefix + "_loss", row[0])
            self.history.record_batch(prefix + "_batch_size", size)
            for name, value in zip(names, row[1:], strict=True):
                self.history.record_batch(f"{prefix}_{name}", value)
        self.history.record(prefix + "_batch_count", len(losses))
        # Epoch means of the named terms; skorch's PassthroughScoring does the
        # same for the total loss.
        for column, name in enumerate(names, start=1):
            weighted = zip(table, sizes, strict=True)
            mean = sum(row[column] * size for row, size in weighted)
            self.history.record(f"{prefix}_{name}", mean / sum(sizes))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        """Open no history row here: rows are written after the epoch."""

    # -- inference -----------------------------------------------------------------
    def _eval_batches(self, dataset, batch_size):
        self.module_.eval()
        loader = self.get_iterator(dataset, training=False)
        if batch_size is not None:
            loader.batch_size = int(batch_size)
        return loader

    @torch.inference_mode()
    def encode_iter(self, dataset, batch_size=None, **encode_params):
        """Yield ``(mu, logvar)`` float32 tensors on the device, batch by batch.

        ``encode_params`` go to the module's ``encode`` (e.g. ``domain``).
        """
        for x, _ in self._eval_batches(dataset, batch_size):
            with self.autocast():
                mu, logvar = core_module(self.module_).encode(x, **encode_params)
            yield mu.float(), logvar.float()

    @torch.inference_mode()
    def reconstruct_iter(self, dataset, batch_size=None, **decode_params):
        """Yield ``(x, x_hat)`` float32 device tensors: inputs and decoded means.

        ``decode_params`` go to the module's ``decode`` (e.g. ``domain``).
        """
        for x, x_hat in self._drawings(dataset, batch_size, **decode_params):
            if self.invariance == "dihedral" and x_hat.ndim == 4:
                # The decoder draws in a pose of its own: undo it.
                x_hat, _ = align_to_input(x_hat, x, self._error_metric)
            yield x, x_hat

    def _drawings(self, dataset, batch_size, **decode_params):
        """Yield ``(x, x_hat)``: inputs and the decoder's float32 drawings of them.

        ``decode_params`` (a survey's ``domain``) pick the encoder as well.
        """
        for x, _ in self._eval_batches(dataset, batch_size):
            with self.autocast():
                module = core_module(self.module_)
                mu = module.encode(x, **decode_params)[0]
                x_hat = module.decode(mu, **decode_params)
            yield x, x_hat.float()

    @property
    def _error_metric(self):
        """The error unit of the (first survey's) likelihood."""
        criterion = getattr(self.criterion_, "elbo", self.criterion_)
        return criterion.likelihood.error_metric

    @torch.inference_mode()
    def pose_iter(self, dataset, batch_size=None, **decode_params):
        """Yield, per batch, the pose (0-7) that turns each input into its drawing.

        See :mod:`skgalvae.nn.pose`; ``decode_params`` as for
        :meth:`reconstruct_iter`.
        """
        for x, x_hat in self._drawings(dataset, batch_size, **decode_params):
            yield match_pose(x_hat, x, self._error_metric)

    @torch.inference_mode()
    def decode_iter(self, z, batch_size=None, **decode_params):
        """Yield decoded float32 device tensors for latent rows ``z`` (ndarray).

        ``decode_params`` go to the module's ``decode`` (e.g. ``domain``).
        """
        for z_batch, _ in self._eval_batches(ArrayDataset(z), batch_size):
            with self.autocast():
                x_hat = core_module(self.module_).decode(z_batch, **decode_params)
            yield x_hat.float()
