"""The VAE estimator of the study: :class:`VAETransformer`."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseVAE


class VAETransformer(BaseVAE):
    """Variational autoencoder that turns galaxy images into latent features.

    The encoder and decoder are those of Xu et al. (2023): three blocks of
    [Conv 3x3 stride 2, MaxPool 2, LeakyReLU] with 32, 64 and 128 channels, two
    linear heads for the posterior mean and log-variance, and a mirrored
    decoder of [Upsample 2, ConvTranspose 3x3 stride 2, LeakyReLU] blocks. Any
    square image whose side is a multiple of 64 (``4 ** len(hidden_dims)``) and
    any number of bands works; the network is sized from the data at fit time.
    2-D input without ``image_shape`` trains a dense (MLP) VAE instead, for
    spectra, photometry or catalog features.

    The loss is ``reconstruction + kl_weight * KL(q(z|x) || N(0, I))``, with the
    reconstruction error summed over pixels and the KL over latent dimensions,
    averaged over the batch; Adam optimises it. :meth:`transform` returns the
    posterior mean, the features used downstream.

    On CUDA the fast path is the default: the training data is staged on the GPU
    once (uint8 stays uint8 there), the forward pass runs under bf16 autocast
    with channels_last weights, and losses are synced once per epoch.

    Parameters
    ----------
    n_latent : int, default=40
        Dimension of the latent space (the study's knee is at 40).
    hidden_dims : tuple of int, default=(32, 64, 128)
        Channels of the encoder blocks (units of the hidden layers for the
        dense VAE). Each convolutional block shrinks the image side by 4.
    image_shape : tuple of int or None, default=None
        ``(bands, height, width)``: read 2-D input rows as flattened images.
        ``None`` means 2-D input is feature vectors.
    loss : {"mse", "mae"}, default="mse"
        Reconstruction error: squared (the study's choice) or absolute.
    kl_weight : float, default=1.0
        Weight ``k`` of the KL term.
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=128
        Samples per training step. Also the batch size of inference methods,
        read when they are called, so it may be raised after fitting.
    max_epochs : int, default=20
        Number of passes over the training data.
    pixel_scale : "auto" or float, default="auto"
        The network sees ``X / pixel_scale``; outputs are multiplied back.
        ``"auto"`` is 255 for uint8 input and 1 otherwise.
    output_activation : {"auto", "relu", "sigmoid", "identity"}, default="auto"
        Final decoder non-linearity. ``"auto"`` is ReLU, the study's choice, when
        the training data has no negative values, and the identity otherwise.
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
        Compile the module with ``torch.compile`` (pays off for long GPU fits).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and the reparameterisation
        noise. With an int, fits on CPU are bit-identical.
    verbose : int, default=0
        ``> 0`` shows a progress bar over epochs (loss and SSIM) and over
        batches of long inference calls. Nothing prints with 0.
    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` (or ``(name, callback)`` pairs), passed
        to the net; copied at fit, so the given instances are left untouched.

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
    device_ : str
        Device the model runs on.
    net_ : skgalvae.nn.VAENet
        The fitted skorch net; ``net_.module_`` is the torch module.
    history_ : skorch.History
        Per-epoch (and per-batch) ``train_loss``, ``train_reconstruction``,
        ``train_kl``, ``train_ssim`` (images) and timing.

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
        "hidden_dims": [tuple, list],
        "image_shape": [None, tuple, list],
        "loss": [StrOptions({"mse", "mae"})],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
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
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [None, list],
    }

    def __init__(
        self,
        n_latent: int = 40,
        *,
        hidden_dims: tuple = (32, 64, 128),
        image_shape: tuple | None = None,
        loss: str = "mse",
        kl_weight: float = 1.0,
        lr: float = 1e-3,
        batch_size: int = 128,
        max_epochs: int = 20,
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
    ):
        self.n_latent = n_latent
        self.hidden_dims = hidden_dims
        self.image_shape = image_shape
        self.loss = loss
        self.kl_weight = kl_weight
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
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


def _vae_parameters_doc():
    """Return the Parameters entries of :class:`VAETransformer`, to share them."""
    doc = VAETransformer.__doc__ or ""
    start = doc.find("----------\n", doc.find("    Parameters\n")) + len("----------\n")
    return doc[start : doc.find("\n    Attributes\n")].rstrip() + "\n"
