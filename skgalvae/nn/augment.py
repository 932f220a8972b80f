"""Augmentations of image batches on the device, drawn from a fit's own generator.

- :func:`dihedral_augment`: a random flip and quarter turn of each image
  (galaxies have no preferred orientation), the training input of every
  convolutional VAE by default.
- :func:`survey_view`: another look at the same galaxy as a survey could have
  taken it: a slightly different PSF, more noise, a few pixels' shift in the
  centring and a size change of up to 10 % (the augmentations of Stein et al.
  2021 for self-supervised similarity search on the DESI Legacy Surveys). The
  consistency term (``consistency_weight``) asks the encoder to give such a
  view the same posterior as the image.

Both draw for a whole global batch and keep this process's rows while
training data-parallel (``rows``), so a data-parallel fit augments as one
process would.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "SURVEY_VIEW_DEFAULTS",
    "check_view_params",
    "dihedral_augment",
    "survey_view",
]

#: The ranges :func:`survey_view` draws from, per image: Gaussian PSF blur of
#: 0 to ``blur`` pixels (sigma), added Gaussian noise of 0 to ``noise`` times
#: the image's own noise (per band), a shift of up to ``shift`` pixels in x
#: and y, and a size change by a factor in ``scale``.
SURVEY_VIEW_DEFAULTS = {"blur": 1.0, "noise": 1.0, "shift": 2.0, "scale": (0.9, 1.1)}


def check_view_params(view, name="consistency_view"):
    """Return :func:`survey_view`'s ranges: ``view`` over the defaults, checked.

    Parameters
    ----------
    view : dict or None
        Ranges to change (keys of :data:`SURVEY_VIEW_DEFAULTS`); None keeps
        the defaults.
    name : str, default="consistency_view"
        The parameter's name, for messages.

    Returns
    -------
    dict
        Every range of :func:`survey_view`.

    Raises
    ------
    ValueError
        Naming the key that is unknown or out of range.
    """
    view = {} if view is None else dict(view)
    unknown = sorted(set(view) - set(SURVEY_VIEW_DEFAULTS))
    if unknown:
        raise ValueError(
            f"{name} has unknown key(s) {unknown}; the ranges are "
            f"{sorted(SURVEY_VIEW_DEFAULTS)}."
        )
    params = {**SURVEY_VIEW_DEFAULTS, **view}
    for key in ("blur", "noise", "shift"):
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name}[{key!r}] must be a number >= 0; got {value!r}.")
    scale = params["scale"]
    if (
        not isinstance(scale, (tuple, list))
        or len(scale) != 2
        or not all(isinstance(s, (int, float)) and s > 0 for s in scale)
        or scale[0] > scale[1]
    ):
        raise ValueError(
            f"{name}['scale'] must be (low, high) with 0 < low <= high; got {scale!r}."
        )
    params["scale"] = tuple(float(s) for s in scale)
    return params


def _draws(shape, x, rows, generator, normal=False):
    """Draw ``shape`` (rows first) for the global batch; keep this process's rows."""
    low, n_rows = 0, shape[0]
    if rows is not None:
        low, _, n_rows = rows
    draw = torch.randn if normal else torch.rand
    values = draw((n_rows, *shape[1:]), device=x.device, generator=generator)
    return values[low : low + shape[0]]


def dihedral_augment(x, rows=None, generator=None):
    """Flip and turn each image by a random element of the dihedral group D4.

    Three independent coin flips per image (mirror left-right, mirror
    up-down, transpose) reach all 8 orientations of a square. Works on the
    device; a dict of batches (domain adaptation) gets the same orientation
    for row ``i`` of every entry.

    Parameters
    ----------
    x : torch.Tensor of shape (n, bands, side, side) or dict of them
        Square images; anything of another shape is returned unchanged.
    rows : tuple of (int, int, int) or None, default=None
        ``(low, high, batch_rows)`` while training data-parallel: ``x`` is
        rows ``low:high`` of a global batch, and gets those rows' draws of a
        draw for the whole batch, as one process would.
    generator : torch.Generator or None, default=None
        Generator on the images' device; None uses torch's global one.

    Returns
    -------
    torch.Tensor or dict
    """
    tensors = list(x.values()) if isinstance(x, dict) else [x]
    first = tensors[0]
    if first.ndim != 4 or first.shape[-1] != first.shape[-2]:
        return x
    n_rows = max(len(t) for t in tensors)
    low = 0
    if rows is not None:
        low, _, n_rows = rows
    coins = torch.rand(3, n_rows, device=first.device, generator=generator)
    coins = coins[:, low:] < 0.5

    def orient(images):
        # The batch keeps its memory format: a transposed view would
        # otherwise leave mixed strides, which cost a conversion at the
        # first convolution (and which the compiler's kernels reject).
        memory_format = _memory_format(images)
        flips = [coins[k].view(-1, 1, 1, 1)[: len(images)] for k in range(3)]
        images = torch.where(flips[0], images.flip(-1), images)
        images = torch.where(flips[1], images.flip(-2), images)
        images = torch.where(flips[2], images.transpose(-1, -2), images)
        return images.contiguous(memory_format=memory_format)

    if isinstance(x, dict):
        return {key: orient(value) for key, value in x.items()}
    return orient(x)


def _memory_format(x):
    """``torch.channels_last`` for a channels_last batch, else contiguous."""
    if x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _noise_level(x):
    """Each image's per-band noise (n, bands, 1, 1), from neighbouring pixels.

    The median absolute difference of horizontal neighbours, scaled to a
    Gaussian sigma: robust to the galaxy, which varies smoothly.
    """
    diff = (x[..., :, 1:] - x[..., :, :-1]).flatten(2).abs()
    return (1.4826 / math.sqrt(2.0) * diff.median(dim=-1).values)[..., None, None]


def _gaussian_blur(x, sigma, max_sigma):
    """Blur each image by its own Gaussian ``sigma`` (n,) in pixels, per band.

    The kernels reach ``3 * max_sigma``, a bound known on the host: reading
    ``sigma``'s own maximum would stop the device every batch.
    """
    n, bands = x.shape[:2]
    radius = max(1, math.ceil(3 * max_sigma))
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma.clamp_min(1e-3)[:, None]).square())
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(bands, 0)
    flat = x.reshape(1, n * bands, *x.shape[2:])
    flat = F.pad(flat, (radius, radius, radius, radius), mode="reflect")
    flat = F.conv2d(flat, kernel.view(n * bands, 1, 1, -1), groups=n * bands)
    flat = F.conv2d(flat, kernel.view(n * bands, 1, -1, 1), groups=n * bands)
    return flat.reshape(x.shape)


@torch.no_grad()
def survey_view(
    x,
    rows=None,
    generator=None,
    *,
    blur=SURVEY_VIEW_DEFAULTS["blur"],
    noise=SURVEY_VIEW_DEFAULTS["noise"],
    shift=SURVEY_VIEW_DEFAULTS["shift"],
    scale=SURVEY_VIEW_DEFAULTS["scale"],
    dihedral=False,
):
    """Return another survey-like view of each image of ``x``.

    Each image is resampled with its own random shift and size change
    (bilinear, edges reflected), blurred by a Gaussian PSF of its own width,
    and given extra Gaussian noise in proportion to the noise it already
    has, band by band; with ``dihedral`` it is also flipped and turned
    (:func:`dihedral_augment`). Everything is drawn from ``generator``.

    Parameters
    ----------
    x : torch.Tensor of shape (n, bands, side, side)
        Square images, in the units the network sees.
    rows : tuple of (int, int, int) or None, default=None
        ``(low, high, batch_rows)`` while training data-parallel, as for
        :func:`dihedral_augment`.
    generator : torch.Generator or None, default=None
        Generator on the images' device; None uses torch's global one.
    blur : float, default=1.0
        Largest PSF sigma added, in pixels; 0 adds no blur.
    noise : float, default=1.0
        Largest added noise, in units of the image's own noise per band.
    shift : float, default=2.0
        Largest shift of the centre, in pixels, along each axis.
    scale : tuple of (float, float), default=(0.9, 1.1)
        Range of the size factor.
    dihedral : bool, default=False
        Also flip and turn each view by a random element of D4.

    Returns
    -------
    torch.Tensor
        Float32 views, shape and memory format of ``x``; no gradient flows
        through them.
    """
    memory_format = _memory_format(x)
    x = x.float()
    n, _, side, _ = x.shape
    u = _draws((n, 4), x, rows, generator)
    size = scale[0] + (scale[1] - scale[0]) * u[:, 0]
    theta = torch.zeros(n, 2, 3, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / size
    theta[:, :, 2] = (2 * u[:, 1:3] - 1) * shift * 2.0 / side
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    view = F.grid_sample(
        x, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )
    if blur > 0:
        view = _gaussian_blur(view, blur * u[:, 3], blur)
    if noise > 0:
        level = noise * _draws((n, 1, 1, 1), x, rows, generator) * _noise_level(x)
        view = view + level * _draws(tuple(x.shape), x, rows, generator, normal=True)
    if dihedral:
        view = dihedral_augment(view, rows, generator)
    return view.contiguous(memory_format=memory_format)
