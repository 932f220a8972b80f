"""The VAE estimator of the study: :class:`VAETransformer`."""

from __future__ import annotations

import ast
import inspect
import os
import re
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..nn.architectures import ARCHITECTURES
from ..nn.augment import check_view_params
from ..nn.likelihoods import LIKELIHOODS
from ._base import OPTIMIZERS, BaseVAE


class ConsistencyMixin:
    """The consistency term of :class:`VAETransformer` and the mixture VAE.

    Reads ``consistency_weight`` (the criterion's) and ``consistency_view``
    (the views' ranges, checked here when the net is built).
    """

    def _criterion_params(self):
        return {
            **super()._criterion_params(),
            "criterion__consistency_weight": self.consistency_weight,
        }

    def _net_params(self):
        view = None
        if self.consistency_view is not None:
            view = check_view_params(self.consistency_view)
        return {**super()._net_params(), "consistency_view": view}


class VAETransformer(ConsistencyMixin, BaseVAE):
    """Variational autoencoder that turns galaxy images into latent features.

    The encoder and decoder come from a named ``architecture``. The default,
    ``"resnet"``, stacks pre-activation residual blocks, average-pools down
    and upsamples by resize-convolutions (no transposed convolution, so no
    checkerboard), to a last 4x4 feature map whatever the image side.
    ``"xu2023"`` is the study's network exactly (Xu et al. 2023): blocks of
    [Conv 3x3 stride 2, MaxPool 2, LeakyReLU] and a mirrored decoder of
    [Upsample 2, ConvTranspose 3x3 stride 2, LeakyReLU]. Any square image
    and any number of bands works; the network is sized from the data at fit
    time. 2-D input without ``image_shape`` trains a dense (MLP) VAE instead,
    for spectra, photometry or catalog features.

    The loss is the negative evidence lower bound ``-log p(x | z) +
    kl_weight * KL(q(z|x) || N(0, I))``, averaged over the batch. The default
    ``likelihood="gaussian"`` with ``noise="optimal"`` calibrates the
    decoder's noise to the residual, band by band (the sigma-VAE), so that the
    KL term is weighed against what the images really hold; the study's
    summed squared error is ``likelihood="sse"``. :meth:`transform` returns
    the posterior mean, the features used downstream. The study's exact model
    is ``VAETransformer(architecture="xu2023", likelihood="sse",
    lr_schedule="constant", augment=None)``.

    On CUDA the fast path is the default: the training data is staged on the GPU
    once (uint8 stays uint8 there), the forward pass runs under bf16 autocast
    with channels_last weights, and losses are synced once per epoch.

    Parameters
    ----------
    n_latent : int, default=40
        Dimension of the latent space (the study's knee is at 40).
    architecture : {"resnet", "xu2023", "dense"}, default="resnet"
        Encoder/decoder family, a key of
        :data:`skgalvae.nn.architectures.ARCHITECTURES`. ``"dense"`` is for
        feature vectors only; both convolutional families train the dense
        VAE on feature vectors.
    hidden_dims : "auto" or tuple of int, default="auto"
        Widths of the encoder blocks (units of the hidden layers for the
        dense VAE); the decoder mirrors them. ``"auto"`` adapts the depth to
        the image side so that the last map is 4x4: ``(16, 32, 64, 128)`` for
        ``"resnet"`` at 64x64 (one level per halving), ``(32, 64)`` for
        ``"xu2023"`` at 64x64 and ``(32, 64, 128)`` at 256x256 (each of its
        blocks shrinks the side 4x); ``(256, 128)`` for feature vectors.
    image_shape : tuple of int or None, default=None
        ``(bands, height, width)``: read 2-D input rows as flattened images.
        ``None`` means 2-D input is feature vectors.
    likelihood : {"gaussian", "laplace", "sse", "sae"}, default="gaussian"
        Decoder likelihood (:mod:`skgalvae.nn.likelihoods`): calibrated
        Gaussian or Laplace, or the study's summed squared (``"sse"``) or
        absolute (``"sae"``) error.
    noise : "optimal", "learned", float or tuple of float, default="optimal"
        Noise scale of a calibrated likelihood, per band: the batch's
        maximum-likelihood value (``"optimal"``), a trained one
        (``"learned"``), or a known one (e.g. the sky noise) in the units of
        ``X``. Ignored by ``"sse"`` and ``"sae"``.
    kl_weight : float, default=1.0
        Weight ``k`` of the KL term.
    kl_warmup : int, default=0
        Epochs over which the KL weight rises linearly from
        ``kl_weight / kl_warmup`` to ``kl_weight``; 0 uses the full weight
        from the start.
    free_bits : float, default=0.0
        Nats per latent dimension (batch mean) the KL term does not charge
        for (Kingma et al. 2016), so no latent is pushed onto the prior
        for free; 0 is the plain ELBO.
    lr : float, default=1e-3
        Learning rate.
    lr_schedule : {"cosine", "constant"}, default="cosine"
        ``"cosine"`` decays the learning rate to 0 over ``max_epochs``
        (through skorch's ``LRScheduler``); ``"constant"`` keeps ``lr``.
    optimizer : {"adam", "adamw"}, default="adam"
        Torch optimiser.
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimiser, e.g.
        ``{"weight_decay": 1e-4}``.
    batch_size : int, default=128
        Samples per training step. Also the batch size of inference methods,
        read when they are called, so it may be raised after fitting.
    max_epochs : int, default=20
        Most passes over the training data (fewer with ``early_stopping``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data, stop when its
        loss has not improved for ``n_iter_no_change`` epochs, and restore the
        weights of its best epoch.
    validation_fraction : float, default=0.1
        Share of the training data held out for validation when
        ``early_stopping`` is on. The validation loss and SSIM are recorded
        in ``history_``.
    n_iter_no_change : int, default=10
        Epochs without a better validation loss before stopping.
    tol : float, default=1e-4
        Improvement of the validation loss, in nats per value (the loss
        over ``n_features_in_``), that counts as better.
    augment : {"dihedral", None}, default="dihedral"
        ``"dihedral"`` flips and turns each training image by a random
        element of the square's symmetry group (8 orientations), on the
        device: galaxies have no preferred orientation. ``None`` trains on
        the images as they are (feature vectors are never augmented).
    invariance : {None, "dihedral"}, default=None
        ``"dihedral"`` makes the latents pose-free: the decoder draws each
        galaxy in a pose of its own choosing and the likelihood scores it
        against the best-matching of the image's 8 flips and quarter turns
        (:mod:`skgalvae.nn.pose`), so no latent is spent on the position
        angle. :meth:`reconstruct`, :meth:`score` and the reconstruction
        errors turn each reconstruction back into its image's pose;
        :meth:`inverse_transform` and :meth:`sample` draw in the decoder's
        own pose, and :meth:`pose` says how each image lies relative to it.
        Images only.
    consistency_weight : float, default=0.0
        Weight of a consistency term (Sinha & Dieng 2021): the KL between
        the posterior of a survey-like view of each training image (another
        PSF, more noise, a shift of a few pixels, a size change of up to
        10 %, and with ``invariance="dihedral"`` a flip or turn;
        :func:`skgalvae.nn.augment.survey_view`) and that of the image. It
        asks the encoder to give the same latents to what a survey could
        equally have observed. Each step encodes twice as many images.
        Images only; 0 leaves it out.
    consistency_view : dict or None, default=None
        Ranges of the consistency term's views, over
        :data:`skgalvae.nn.SURVEY_VIEW_DEFAULTS`: ``"blur"`` (largest PSF
        sigma added, pixels), ``"noise"`` (largest added noise, in units of
        the image's own), ``"shift"`` (pixels) and ``"scale"`` (``(low,
        high)`` size factors). ``{"blur": 0, "noise": 0, "shift": 0,
        "scale": (1, 1)}`` with ``invariance="dihedral"`` leaves only the
        flips and turns. None uses the defaults.
    warm_start : bool, default=False
        When fitted already, continue training the fitted network for
        ``max_epochs`` more epochs (on data of the same shape) instead of
        starting anew.
    checkpoint_dir : str, path-like or None, default=None
        A directory where the fit saves its weights, optimiser state and
        history after every epoch (skorch's ``Checkpoint``). A fit killed
        part-way resumes from the last saved epoch when ``fit`` is called
        again with the same settings and data of the same size and shape,
        and trains the remaining epochs of ``max_epochs``; settings or data
        that differ raise an error that names them. ``max_epochs`` may be
        raised to train on. Not available data-parallel.
    pixel_scale : "auto" or float, default="auto"
        The network sees ``X / pixel_scale``; outputs are multiplied back.
        ``"auto"`` is 255 for uint8 input and 1 otherwise.
    output_activation : {"auto", "relu", "sigmoid", "identity"}, default="auto"
        Final decoder non-linearity. ``"auto"`` is the identity, except with
        ``architecture="xu2023"`` on data with no negative values, where it is
        the study's ReLU.
    device : str, default="auto"
        Torch device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``,
        ``"cuda"`` or ``"cuda:N"``.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Autocast precision of the forward pass; weights stay float32.
        ``"auto"`` is bfloat16 on CUDA devices that support it, else float32.
    channels_last : "auto" or bool, default="auto"
        Use the channels_last memory format for images; ``"auto"`` means on
        CUDA.
    stage_to_device : "auto" or bool, default="auto"
        Copy the whole training array to the device once. ``"auto"`` does so
        on CUDA when it takes at most half of the free GPU memory (batches are
        otherwise pinned and prefetched), and on CPU for in-memory arrays (a
        zero-copy view; memmaps are read batch by batch).
    compile : bool, default=False
        Compile the network with ``torch.compile`` for training (pays off for
        long GPU fits; the first epoch pays the compilation). The batch
        dimension is dynamic, so a smaller last batch does not compile again.
    inference_batch_size : "auto" or int, default="auto"
        Rows per batch of :meth:`transform` and the other methods that run
        the trained network. ``"auto"`` is ``batch_size`` on CPU and at least
        1024 on CUDA, where inference keeps no gradients and larger batches
        keep the GPU busy.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split, the
        augmentation and the reparameterisation noise. With an int, fits on
        CPU are bit-identical.
    verbose : int, default=0
        ``1`` shows a progress bar over epochs (loss and SSIM) and over
        batches of long inference calls; ``2`` prints skorch's table of
        per-epoch losses instead of the epoch bar. Nothing prints with 0.
    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` (or ``(name, callback)`` pairs), passed
        to the net as they are, so they receive the fit's events (a
        ``TensorBoard`` callback writes its event files).

    Attributes
    ----------
    n_features_in_ : int
        Values per sample (``bands * h * w`` for images).
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame of feature vectors.
    sample_shape_ : tuple of int
        Canonical shape of one sample: ``(bands, h, w)`` or ``(n_features,)``.
    input_shape_ : tuple of int
        Shape of one sample as given to ``fit``; :meth:`inverse_transform` and
        :meth:`sample` return this layout.
    image_shape_ : tuple of int or None
        ``(bands, h, w)`` for images, ``None`` for feature vectors.
    pixel_scale_ : float
        Resolved ``pixel_scale``.
    output_activation_ : str
        Resolved ``output_activation``.
    data_range_ : float
        Dynamic range ``L`` of the training values (255 for uint8), used by
        SSIM.
    input_unit_ : astropy.units.Unit or None
        Unit of ``X`` when fitted on an astropy ``Quantity``; later data is
        converted to it and decoded images carry it (see
        :ref:`the unit policy <unit-policy>`). None for plain numbers.
    input_range_ : tuple of (float, float)
        Smallest and largest training value, in the units of ``X``; data
        scaled unlike it is refused at transform.
    input_is_uint8_ : bool
        Whether the training data was uint8 (then floats already in [0, 1]
        are refused at transform).
    device_ : str
        Device the model runs on.
    net_ : skgalvae.nn.VAENet
        The fitted skorch net; ``net_.module_`` is the torch module.
    hidden_dims_ : tuple of int
        Resolved ``hidden_dims``.
    likelihood_ : str
        Resolved likelihood.
    noise_scale_ : ndarray of shape (bands,) or None
        The calibrated likelihood's noise scale per band at the end of the
        fit, in the units of ``X``; ``None`` for ``"sse"`` and ``"sae"``.
    n_latent_ : int
        Latent width of the fitted network: the number of columns
        :meth:`transform` returns, whatever ``n_latent`` is set to after the
        fit (a change takes effect at the next fit).
    active_latents_ : ndarray of bool, shape (n_latent,)
        Latents the VAE uses: those whose posterior mean varies across the
        training data, ``Var_x E[z_j | x] > 0.01`` (Burda et al. 2016).
    n_active_latents_ : int
        Number of active latents.
    history_ : skorch.History
        Per-epoch (and per-batch) ``train_loss``, ``train_reconstruction``
        (the negative log-likelihood), ``train_kl``, ``kl_per_latent``
        (mean KL of each latent over the monitored images), ``train_ssim``
        (images), ``lr`` and timing; with ``early_stopping``, ``valid_loss``
        and ``valid_ssim``.

    See Also
    --------
    sklearn.decomposition.PCA : The linear baseline ("eigengalaxies").

    Notes
    -----
    A fitted estimator pickles (``joblib.dump``) its weights as numpy arrays
    plus its parameters, never a torch module object: a model fitted on a GPU
    loads on a machine without one. With ``device="auto"`` it then runs on the
    CPU. Optimizer state is not kept.

    References
    ----------
    Xu, Q., Shen, S., de Souza, R. S., et al. (2023). From images to features:
    unbiased morphology classification via variational auto-encoders and domain
    adaptation. MNRAS 526, 6391.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae import VAETransformer
    >>> X = np.random.default_rng(0).random((32, 3, 64, 64), dtype=np.float32)
    >>> vae = VAETransformer(n_latent=8, max_epochs=1, random_state=0).fit(X)
    >>> vae.transform(X).shape
    (32, 8)
    >>> vae.get_feature_names_out()[:3]
    array(['vae0', 'vae1', 'vae2'], dtype=object)
    """

    _parameter_constraints: dict = {
        "n_latent": [Interval(Integral, 1, None, closed="left")],
        # Live views of the registries: a name registered after import is valid.
        "architecture": [StrOptions(ARCHITECTURES.keys())],
        "hidden_dims": [StrOptions({"auto"}), tuple, list],
        "image_shape": [None, tuple, list],
        "likelihood": [StrOptions(LIKELIHOODS.keys())],
        "noise": [
            StrOptions({"optimal", "learned"}),
            Interval(Real, 0, None, closed="neither"),
            tuple,
            list,
        ],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "free_bits": [Interval(Real, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "optimizer_params": [None, dict],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "augment": [None, StrOptions({"dihedral"})],
        "invariance": [None, StrOptions({"dihedral"})],
        "consistency_weight": [Interval(Real, 0, None, closed="left")],
        "consistency_view": [None, dict],
        "warm_start": ["boolean"],
        "checkpoint_dir": [None, str, os.PathLike],
        "pixel_scale": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "output_activation": [StrOptions({"auto", "relu", "sigmoid", "identity"})],
        "device": [str],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "channels_last": [StrOptions({"auto"}), "boolean"],
        "stage_to_device": [StrOptions({"auto"}), "boolean"],
        "compile": ["boolean"],
        "inference_batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [None, list],
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


def _vae_parameters_doc(exclude=(), estimator=None):
    """Return the Parameters entries of :class:`VAETransformer`, to share them.

    ``exclude`` names parameters to leave out. With ``estimator`` (a class),
    each entry's ``default=`` is that class's own default, where it differs.
    """
    doc = VAETransformer.__doc__ or ""
    start = doc.find("----------\n", doc.find("    Parameters\n")) + len("----------\n")
    entries = re.split(r"\n(?=    \w+ : )", doc[start : doc.find("\n    Attributes\n")])
    kept = [e for e in entries if e.split(" : ")[0].strip() not in exclude]
    if estimator is not None:
        defaults = {
            name: p.default
            for name, p in inspect.signature(estimator.__init__).parameters.items()
        }
        kept = [_with_default(entry, defaults) for entry in kept]
    return "\n".join(kept).rstrip() + "\n"


def _with_default(entry, defaults):
    """Rewrite ``entry``'s ``default=`` to ``defaults``' value for its name."""
    header, _, rest = entry.partition("\n")
    name = header.split(" : ")[0].strip()
    match = re.match(r"(.*default=)(.+)$", header)
    if match is None or name not in defaults:
        return entry
    if _documented_default(match.group(2)) == defaults[name]:
        return entry
    value = defaults[name]
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    return f"{match.group(1)}{shown}\n{rest}"


def _documented_default(text):
    """Return the value a numpydoc ``default=`` text stands for (or the text)."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()
