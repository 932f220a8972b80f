"""One scale policy for every VAE estimator: what fit and transform accept.

The networks are built for values of order one: stretched images in [0, 1]
(uint8 images are divided by 255 on the device) or standardised features.
Data far from that scale makes the loss overflow, and data scaled unlike the
fit's gives latents that mean nothing; both are refused here with a message
that says what to do, before any training or encoding.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAX_TRAINING_MAGNITUDE",
    "check_like_fit_scale",
    "check_training_scale",
    "diagnose_divergence",
]

#: Largest absolute value the network may see at fit (after ``pixel_scale``):
#: images are meant to be stretched to about [0, 1]; feature vectors have no
#: set scale, so only values that overflow the summed squared error are refused.
MAX_TRAINING_MAGNITUDE = {"images": 100.0, "features": 1e4}
#: How many times further than the fit's largest value transform data may go.
_SCALE_RATIO = 50.0
_STRETCH_HINT = (
    "stretch or scale it first (skgalvae.preprocessing.AsinhStretch, MTFStretch "
    "or BandScaler, e.g. make_pipeline(AsinhStretch(), VAETransformer()))"
)


def _span(low, high):
    return f"[{low:.4g}, {high:.4g}]"


def check_training_scale(
    value_range, pixel_scale, output_activation, input_name, estimator_name, kind
):
    """Refuse training data the network cannot learn at its scale.

    Parameters
    ----------
    value_range : tuple of float
        ``(low, high)`` of the data, in its own units.
    pixel_scale : float
        What the data is divided by on the device.
    output_activation : str
        The decoder's last activation.
    input_name, estimator_name : str
        For the message.
    kind : {"images", "features"}
        What the data holds.

    Raises
    ------
    ValueError
        If the values the network sees exceed :data:`MAX_TRAINING_MAGNITUDE`
        in size, or fall outside the range the decoder can output.
    """
    limit = MAX_TRAINING_MAGNITUDE[kind]
    low, high = (float(v) / pixel_scale for v in value_range)
    scaled = (
        "" if pixel_scale == 1 else f" after dividing by pixel_scale={pixel_scale:g}"
    )
    if max(abs(low), abs(high)) > limit:
        hint = _STRETCH_HINT
        if 0 <= low and high <= 255 and pixel_scale == 1:
            hint += ", or pass pixel_scale=255 for 8-bit images stored as floats"
        raise ValueError(
            f"{input_name} holds values in {_span(low, high)}{scaled}, far from the "
            f"scale {estimator_name} trains {kind} on (at most {limit:g} in size): "
            f"the loss would overflow and the latents would be noise. "
            f"{hint[0].upper()}{hint[1:]}."
        )
    span = max(high - low, 1e-12)
    bounds = {"sigmoid": (0.0, 1.0), "relu": (0.0, np.inf)}.get(output_activation)
    if bounds is not None:
        bottom, top = bounds
        if low < bottom - 1e-3 * span or high > top + 1e-3 * span:
            raise ValueError(
                f"{input_name} holds values in {_span(low, high)}{scaled}, but "
                f"output_activation={output_activation!r} decodes only "
                f"{_span(bottom, top)}; use output_activation='identity' (or "
                f"'auto'), or rescale the data into that range."
            )


def check_like_fit_scale(value_range, is_uint8, fit, input_name, estimator_name):
    """Refuse data scaled unlike the fit's (e.g. 0-1 floats for a uint8 model).

    Parameters
    ----------
    value_range : tuple of float
        ``(low, high)`` of the data, in its own units.
    is_uint8 : bool
        Whether the data is uint8.
    fit : tuple of (float, float, bool)
        The fit data's ``(low, high, is_uint8)``.
    input_name, estimator_name : str
        For the message.

    Raises
    ------
    ValueError
        If a model fitted on uint8 images (scaled by 1/255 inside) is given
        floats no larger than 1, or if the data's largest size exceeds the
        fit's ``50`` times over.
    """
    low, high = value_range
    fit_low, fit_high, fit_uint8 = fit
    if fit_uint8 and not is_uint8 and 0 < high <= 1.0:
        raise ValueError(
            f"{input_name} holds floats in {_span(low, high)}, but {estimator_name} "
            f"was fitted on uint8 images ({_span(fit_low, fit_high)}), which it "
            f"divides by 255 itself: these look scaled already, and would be "
            f"divided again. Pass the uint8 images (or multiply by 255)."
        )
    fit_size = max(abs(fit_low), abs(fit_high), 1e-12)
    size = max(abs(low), abs(high))
    if size > _SCALE_RATIO * fit_size and size > 1.0:
        raise ValueError(
            f"{input_name} holds values in {_span(low, high)}, but {estimator_name} "
            f"was fitted on values in {_span(fit_low, fit_high)}: "
            f"{size / fit_size:.0f} times larger. Apply the fit's scaling (the same "
            f"stretch, or uint8 images for a model fitted on uint8) first."
        )


def _all_identical(data, chunk=256):
    """Whether every sample of ``data`` equals the first (read in chunks)."""
    first = np.asarray(data[:1])
    for start in range(0, len(data), chunk):
        block = np.asarray(data[start : start + chunk])
        if not (block == first).all():
            return False
    return True


def diagnose_divergence(error, data, lr):
    """Return the likely cause of a non-finite training loss, in words.

    The scale was checked before training (:func:`check_training_scale`), so
    what is left is the data set itself or the learning rate.

    Parameters
    ----------
    error : FloatingPointError
        The net's report of the diverged batch; its ``where`` attribute says
        which batch and gives the loss terms.
    data : array-like of shape (n_samples, ...)
        The training samples, on the CPU.
    lr : float
        The learning rate.

    Returns
    -------
    str
    """
    where = getattr(error, "where", None)
    if where is None:
        return str(error)
    if len(data) > 1 and _all_identical(data):
        return (
            f"Training diverged in {where}: all {len(data)} training samples are "
            f"identical, a degenerate data set. The VAE shrinks its noise scale "
            f"to zero on it and the likelihood becomes infinite; train on varied "
            f"samples."
        )
    return (
        f"Training diverged in {where}. The data's scale was checked before "
        f"training, so the likely cause is the learning rate (lr={lr:g}): lower "
        f"it (e.g. lr={lr / 10:g})."
    )
