"""Structural similarity (Wang et al. 2004), batched in torch on any device."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..utils._units import refuse_quantity


def _gaussian_kernel_1d(sigma, truncate, dtype, device):
    # Same support and normalisation as scipy.ndimage.gaussian_filter, which
    # scikit-image uses: radius = int(truncate * sigma + 0.5).
    radius = int(truncate * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def ssim(
    x,
    y,
    *,
    data_range,
    sigma: float = 1.5,
    truncate: float = 3.5,
    k1: float = 0.01,
    k2: float = 0.03,
    reduction: str = "none",
):
    """Mean structural similarity of each image pair, with a Gaussian window.

    Implements Wang et al. (2004) with ``alpha = beta = gamma = 1`` and
    ``C3 = C2 / 2``, averaged over all window positions that lie fully inside
    the image and over bands. With the defaults it matches
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=data_range,
    channel_axis=0)`` image by image.

    Parameters
    ----------
    x, y : torch.Tensor or ndarray of shape (n, bands, h, w) or (n, h, w)
        The two image stacks. Computation runs on ``x``'s device in float32.
    data_range : float
        Dynamic range ``L`` of the pixel values (255 for 8-bit images).
    sigma : float, default=1.5
        Standard deviation of the Gaussian window.
    truncate : float, default=3.5
        Window radius in units of ``sigma`` (3.5 gives an 11x11 window).
    k1, k2 : float, default=0.01, 0.03
        Stabilising constants, ``C1 = (k1 L)^2`` and ``C2 = (k2 L)^2``.
    reduction : {"none", "mean"}, default="none"
        Return one value per image, or their mean.

    Returns
    -------
    torch.Tensor of shape (n,) or scalar
        SSIM in [-1, 1]; 1 means identical images.

    References
    ----------
    Wang, Z., Bovik, A. C., Sheikh, H. R., Simoncelli, E. P. (2004). Image
    quality assessment: from error visibility to structural similarity. IEEE
    Transactions on Image Processing, 13(4), 600-612.

    Examples
    --------
    >>> import torch
    >>> from skgalvae.metrics import ssim
    >>> x = torch.rand(4, 3, 64, 64)
    >>> ssim(x, x, data_range=1.0)
    tensor([1., 1., 1., 1.])
    """
    refuse_quantity(x, "x", "ssim")
    refuse_quantity(y, "y", "ssim")
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
    y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y)
    if x.shape != y.shape:
        raise ValueError(
            f"ssim needs images of equal shape; got {tuple(x.shape)} "
            f"and {tuple(y.shape)}."
        )
    if x.ndim == 3:
        x, y = x.unsqueeze(1), y.unsqueeze(1)
    if x.ndim != 4:
        raise ValueError(
            f"ssim expects (n, bands, h, w) or (n, h, w) images; got shape "
            f"{tuple(x.shape)}."
        )
    if reduction not in ("none", "mean"):
        raise ValueError(f"reduction must be 'none' or 'mean'; got {reduction!r}.")
    x = x.float()
    y = y.to(device=x.device, dtype=torch.float32)
    n, bands, h, w = x.shape
    kernel = _gaussian_kernel_1d(sigma, truncate, torch.float32, x.device)
    size = kernel.numel()
    if h < size or w < size:
        raise ValueError(
            f"ssim needs images of at least {size}x{size} pixels for sigma={sigma}; "
            f"got {h}x{w}."
        )

    # Separable 'valid' Gaussian filtering of x, y, x^2, y^2, xy in one pass.
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1).flatten(0, 1).unsqueeze(1)
    stack = F.conv2d(stack, kernel.view(1, 1, 1, size))
    stack = F.conv2d(stack, kernel.view(1, 1, size, 1))
    stack = stack.view(n, 5, bands, *stack.shape[-2:])
    mu_x, mu_y, xx, yy, xy = stack.unbind(dim=1)

    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    var_x = xx - mu_x * mu_x
    var_y = yy - mu_y * mu_y
    cov = xy - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    )
    per_image = ssim_map.flatten(1).mean(dim=1)
    return per_image.mean() if reduction == "mean" else per_image
