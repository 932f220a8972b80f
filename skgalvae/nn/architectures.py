"""Named encoder/decoder families of the VAE, in one registry.

An :class:`Architecture` builds the encoder and the decoder of a VAE from
plain configuration values (the shape of one sample, the block widths, the
latent width, the output activation), and says which image sides it takes.
The estimators pick one by name through their ``architecture`` parameter, and
their parameter constraints read :data:`ARCHITECTURES`' keys when they check,
so a new family is one :func:`register_architecture` call away, at any time.

Each convolutional family is a module that ends in its registration:

- ``"xu2023"`` (:mod:`skgalvae.nn.xu2023`): the study's blocks exactly.
- ``"resnet"`` (:mod:`skgalvae.nn.resnet`): pre-activation residual blocks,
  no transposed convolution, a linear output.
- ``"dense"`` (here): multi-layer perceptrons, for feature vectors.

Both convolutional families take ``hidden_dims="auto"`` to adapt their depth
to the image side, so that the last feature map is 4x4, the study's geometry
at 256x256.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .networks import DenseDecoder, DenseEncoder


@dataclass(frozen=True)
class Architecture:
    """One named family of encoders and decoders.

    Parameters
    ----------
    name : str
        Registry key.
    encoder : callable or None
        ``encoder(sample_shape, hidden_dims, n_latent)`` for images, or
        ``None`` when the family takes no images.
    decoder : callable or None
        ``decoder(sample_shape, hidden_dims, n_latent, output_activation)``.
    side_multiple : callable or None
        ``side_multiple(hidden_dims)``: image sides must be multiples of it.
    auto_hidden_dims : callable or None
        ``auto_hidden_dims(sample_shape)``: the widths ``hidden_dims="auto"``
        stands for, for images.
    default_output_activation : str
        What ``output_activation="auto"`` resolves to for non-negative data.
    description : str
        One line for error messages and docs.
    """

    name: str
    encoder: Callable | None
    decoder: Callable | None
    side_multiple: Callable | None
    auto_hidden_dims: Callable | None
    default_output_activation: str
    description: str

    @property
    def takes_images(self) -> bool:
        """Whether the family has convolutional parts."""
        return self.encoder is not None


#: The registered architectures, by name.
ARCHITECTURES: dict[str, Architecture] = {}

#: Widths of the dense VAE's hidden layers when ``hidden_dims="auto"``.
DENSE_AUTO_DIMS = (256, 128)


def register_architecture(architecture: Architecture) -> Architecture:
    """Add ``architecture`` to :data:`ARCHITECTURES` under its name.

    Parameters
    ----------
    architecture : Architecture
        The family; a name already registered is replaced.

    Returns
    -------
    Architecture
        The same object.
    """
    ARCHITECTURES[architecture.name] = architecture
    return architecture


def get_architecture(name: str) -> Architecture:
    """Return the registered architecture ``name``.

    Raises
    ------
    ValueError
        When no architecture of that name is registered.
    """
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(
            f"Unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}."
        ) from None


def resolve_hidden_dims(architecture, hidden_dims, sample_shape):
    """Return the block widths to build: ``hidden_dims`` or what ``"auto"`` means.

    Parameters
    ----------
    architecture : str
        Registry key.
    hidden_dims : "auto" or sequence of int
        The estimator's parameter.
    sample_shape : tuple of int
        ``(bands, side, side)`` or ``(n_features,)``.

    Returns
    -------
    tuple of int
    """
    if not (isinstance(hidden_dims, str) and hidden_dims == "auto"):
        return tuple(int(h) for h in hidden_dims)
    family = get_architecture(architecture)
    if len(sample_shape) == 3:
        return family.auto_hidden_dims(sample_shape)
    return DENSE_AUTO_DIMS


#: Smallest image side the SSIM's 11x11 Gaussian window fits in.
MIN_SSIM_SIDE = 11


def _check_image_side(sample_shape, side_multiple, input_name, estimator_name):
    """Raise unless ``sample_shape = (bands, side, side)`` fits the encoder.

    The side must be square, at least ``side_multiple`` and a multiple of it
    (64 for the study's three-block encoder).
    """
    _, height, width = sample_shape
    if height != width:
        raise ValueError(
            f"{input_name} holds {height}x{width} images; {estimator_name} needs "
            f"square images. Crop or pad them to a square first."
        )
    # The SSIM that scores the reconstructions needs its 11x11 window.
    smallest = side_multiple * -(-max(MIN_SSIM_SIDE, side_multiple) // side_multiple)
    if height < smallest or height % side_multiple:
        raise ValueError(
            f"{input_name} holds {height}x{width} images; {estimator_name} needs a "
            f"side that is at least {smallest} and divisible by {side_multiple} "
            f"(e.g. {smallest}, {2 * smallest}, {4 * smallest}). "
            f"Resize or crop the cutouts."
        )


def check_network_input(
    architecture, hidden_dims, sample_shape, input_name, estimator_name
):
    """Check that ``architecture`` takes samples of ``sample_shape``; resolve widths.

    Parameters
    ----------
    architecture : str
        Registry key.
    hidden_dims : "auto" or sequence of int
        The estimator's parameter.
    sample_shape : tuple of int
        ``(bands, side, side)`` or ``(n_features,)``.
    input_name, estimator_name : str
        Used in error messages.

    Returns
    -------
    hidden_dims : tuple of int
        The block widths to build (see :func:`resolve_hidden_dims`).
    default_output_activation : str
        What ``output_activation="auto"`` means for non-negative data.

    Raises
    ------
    ValueError
        For images given to a family that takes feature vectors only, or
        images whose side the encoder cannot take.
    """
    family = get_architecture(architecture)
    if len(sample_shape) == 3 and not family.takes_images:
        raise ValueError(
            f"{input_name} holds images, but architecture={architecture!r} "
            f"({family.description}) takes feature vectors only; use "
            f"architecture='resnet' or 'xu2023' for images."
        )
    dims = resolve_hidden_dims(architecture, hidden_dims, sample_shape)
    if len(sample_shape) == 3:
        _check_image_side(
            sample_shape, family.side_multiple(dims), input_name, estimator_name
        )
    return dims, family.default_output_activation


def build_encoder(architecture, sample_shape, hidden_dims, n_latent):
    """Build the encoder of ``architecture`` for samples of ``sample_shape``."""
    family = get_architecture(architecture)
    if len(sample_shape) == 3:
        bands, side, _ = sample_shape
        return family.encoder(bands, side, hidden_dims, n_latent)
    (n_features,) = sample_shape
    return DenseEncoder(n_features, hidden_dims, n_latent)


def build_decoder(architecture, sample_shape, hidden_dims, n_latent, output_activation):
    """Build the decoder of ``architecture`` for samples of ``sample_shape``."""
    family = get_architecture(architecture)
    if len(sample_shape) == 3:
        bands, side, _ = sample_shape
        return family.decoder(bands, side, hidden_dims, n_latent, output_activation)
    (n_features,) = sample_shape
    return DenseDecoder(n_features, hidden_dims, n_latent, output_activation)


register_architecture(
    Architecture(
        name="dense",
        encoder=None,
        decoder=None,
        side_multiple=None,
        auto_hidden_dims=None,
        default_output_activation="identity",
        description="multi-layer perceptrons, for feature vectors",
    )
)
