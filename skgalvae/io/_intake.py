"""Input intake: validate what users pass and bring it to one canonical form.

Every estimator method that takes samples goes through :func:`check_samples`.
It accepts numpy arrays (memmaps included), anything scikit-learn's
``check_array`` accepts, and torch tensors on any device: a batch that already
lives on the GPU is validated and encoded there, with no host round trip. It
returns a :class:`Samples` view of shape ``(n, *sample_shape)`` in the
stored dtype, where ``sample_shape`` is ``(bands, side, side)`` for images or
``(n_features,)`` for vectors, and remembers the per-sample layout the caller
used so outputs can be given back in it. Nothing is cast, clipped or copied
here; a memory-mapped array stays memory-mapped, and a lazy collection of files
(:class:`skgalvae.io.FITSDataset`, ...) stays unread.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils.validation import check_array

from ..utils._rows import evenly_spaced_rows
from ..utils._units import refuse_quantity
from ._lazy import is_lazy, is_path_list, lazy_from_paths

_ACCEPTED_KINDS = "uif"  # unsigned and signed integers, floats
_SCAN_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Samples:
    """Validated samples in canonical shape, with what the estimators read of them.

    Attributes
    ----------
    data : ndarray, torch.Tensor or lazy collection of shape (n, *sample_shape)
        The caller's data (a view where possible), in its stored dtype and, for
        tensors, on its device.
    input_shape : tuple of int
        Shape of one sample as the caller laid it out, e.g. ``(64, 64)`` for
        single-band images given as ``(n, 64, 64)``.
    sample_shape : tuple of int
        Canonical shape of one sample: ``(bands, side, side)`` or
        ``(n_features,)``.
    is_image : bool
        Whether the samples are images ``(bands, side, side)``.
    is_lazy : bool
        Whether ``data`` is a lazy collection of files, read batch by batch.
    is_uint8 : bool
        Whether the values are stored as uint8 (8-bit images).
    value_range : tuple of float or None
        ``(low, high)`` of the values as :func:`check_samples` scanned them
        (see its ``values``); None when it checked finiteness only.
    """

    data: np.ndarray | torch.Tensor
    input_shape: tuple
    sample_shape: tuple
    is_image: bool
    is_lazy: bool
    is_uint8: bool
    value_range: tuple | None


def dtype_kind(array) -> str:
    """Return the numpy dtype kind (``"f"``, ``"u"``, ``"i"``, ...) of an array.

    Works for numpy arrays and torch tensors alike.
    """
    if not torch.is_tensor(array):
        return array.dtype.kind
    dtype = array.dtype
    if dtype.is_complex:
        return "c"
    if dtype.is_floating_point:
        return "f"
    if dtype == torch.bool:
        return "b"
    return "u" if dtype == torch.uint8 or not dtype.is_signed else "i"


def is_uint8(array) -> bool:
    """Whether ``array`` (numpy or torch) holds 8-bit unsigned integers."""
    return array.dtype in (np.uint8, torch.uint8)


def _unmasked(X, input_name, estimator_name):
    """Return the data of a masked array with nothing masked; else refuse.

    What lies under a mask is not data (a sentinel, a bad pixel): training on
    it silently would be wrong, and there is no one right value to put there.
    """
    masked = np.ma.getmaskarray(X).reshape(len(X), -1).any(axis=1)
    if masked.any():
        rows = np.flatnonzero(masked)
        raise ValueError(
            f"{input_name} is a masked array with {int(np.ma.count_masked(X))} "
            f"masked values in {len(rows)} samples (the first: sample {rows[0]}); "
            f"{estimator_name} cannot tell what lies under a mask. Fill them "
            f"({input_name}.filled(value)) or leave those samples out."
        )
    return np.asarray(X.data)


def check_array_like(X, input_name="X", estimator_name="estimator"):
    """Refuse what is not a collection of samples, before any conversion.

    numpy would turn ``None`` into a 0-d object array, a path into a 0-d
    string and a ragged list into an error about "inhomogeneous" shapes; each
    of these is named here instead.

    Parameters
    ----------
    X : object
        The argument.
    input_name : str, default="X"
        Its name, for the message.
    estimator_name : str, default="estimator"
        The caller, for the message.

    Raises
    ------
    TypeError
        For None, a single string, bytes or path, or a mapping.
    ValueError
        For a list or tuple whose items have different shapes (the first
        differing item is named).
    """
    if X is None:
        raise TypeError(
            f"{input_name} is None; {estimator_name} needs an array of samples."
        )
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{input_name} is a single {type(X).__name__} ({str(X)[:80]!r}); "
            f"{estimator_name} needs an array of samples, or a list of image "
            f"paths (skgalvae.io.read_path_list reads a file listing them)."
        )
    if isinstance(X, Mapping):
        keys = list(X)[:3]
        raise TypeError(
            f"{input_name} is a {type(X).__name__} with keys {keys}; "
            f"{estimator_name} needs the array itself, e.g. "
            f"{input_name}[{keys[0]!r}]."
            if keys
            else f"{input_name} is an empty {type(X).__name__}; "
            f"{estimator_name} needs an array of samples."
        )
    if isinstance(X, (list, tuple)) and len(X) > 1:
        first = np.shape(X[0])
        for i, item in enumerate(X[1:], start=1):
            if np.shape(item) != first:
                raise ValueError(
                    f"{input_name} is a ragged {type(X).__name__}: item {i} has "
                    f"shape {np.shape(item)} but item 0 has {first}; "
                    f"{estimator_name} needs samples of one shape. Crop or "
                    f"resize them to one size first."
                )


def check_numeric_values(X, input_name="X", estimator_name="estimator"):
    """Refuse non-arrays (:func:`check_array_like`) and text parsed as numbers.

    scikit-learn's ``check_array(dtype=float)`` turns ``"1.5"`` into 1.5;
    latents given as text are a mistake, so they are refused here.

    Parameters
    ----------
    X, input_name, estimator_name
        As for :func:`check_array_like`.

    Raises
    ------
    TypeError
        If ``X`` holds strings or bytes.
    ValueError
        As :func:`check_array_like`.
    """
    check_array_like(X, input_name, estimator_name)
    values = np.asarray(X)  # a DataFrame of mixed columns becomes objects
    if values.dtype.kind in "US":
        text = values.flat[0] if values.size else ""
    elif values.dtype.kind == "O":
        text = next((v for v in values.flat if isinstance(v, (str, bytes))), None)
    else:
        return
    if text is not None:
        raise TypeError(
            f"{input_name} holds text ({text!r} ...); {estimator_name} needs "
            f"numbers. Convert what you mean to numbers first."
        )


def _as_array(X, input_name, estimator_name):
    # The estimators convert units (skgalvae.utils._units) before this point.
    refuse_quantity(X, input_name, estimator_name)
    check_array_like(X, input_name, estimator_name)
    if is_path_list(X):  # FITS/JPEG/PNG paths: read lazily with default options
        return lazy_from_paths(X)
    if np.ma.isMaskedArray(X):
        return _unmasked(X, input_name, estimator_name)
    if isinstance(X, np.ndarray):  # includes np.memmap: keep it as is
        return X
    if is_lazy(X):  # files read batch by batch (skgalvae.io.FITSDataset, ...)
        if len(X) == 0:
            raise ValueError(
                f"{input_name} is an empty {type(X).__name__}: it was given no "
                f"files, so {estimator_name} has no images to read."
            )
        return X
    if torch.is_tensor(X):  # keep it on its device
        return X.detach()
    # Lists, DataFrames, sparse matrices...: scikit-learn's messages are right.
    return check_array(
        X,
        accept_sparse=False,
        dtype=None,
        ensure_all_finite=False,
        allow_nd=True,
        ensure_2d=False,
        ensure_min_samples=0,
        ensure_min_features=0,
        input_name=input_name,
        estimator=estimator_name,
    )


def _check_dtype(array, input_name, estimator_name):
    kind = dtype_kind(array)
    if kind == "c":
        raise ValueError(
            f"{input_name} has complex dtype {array.dtype}; {estimator_name} needs "
            f"real pixel or feature values. Complex data not supported."
        )
    if kind not in _ACCEPTED_KINDS:
        raise TypeError(
            f"{input_name} has dtype {array.dtype}; {estimator_name} needs a real "
            f"numeric array (float or integer, e.g. uint8 images), not object, "
            f"string or boolean data."
        )


def _check_ndim(array, input_name, estimator_name):
    if array.ndim in (2, 3, 4):
        return
    hint = (
        " Reshape your data either using X.reshape(-1, 1) if it has a single "
        "feature or X[None] if it is a single sample."
        if array.ndim == 1
        else ""
    )
    raise ValueError(
        f"Expected 2D, 3D or 4D input: {input_name} must be (n_samples, n_features), "
        f"(n_samples, h, w) single-band images or (n_samples, bands, h, w) images; "
        f"got a {array.ndim}D array of shape {array.shape}.{hint}"
    )


def _check_not_empty(array, input_name, estimator_name):
    if array.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={array.shape}) while a minimum of "
            f"1 is required by {estimator_name}: {input_name} is empty."
        )
    if np.prod(array.shape) == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={array.shape}) while a minimum "
            f"of 1 is required by {estimator_name}: {input_name} has an empty axis."
        )


def _canonical(array, image_shape, input_name, estimator_name):
    """Return ``(canonical_view, input_shape)``."""
    input_shape = tuple(array.shape[1:])
    if array.ndim == 4:
        return array, input_shape
    if array.ndim == 3:
        return array[:, None, :, :], input_shape
    if image_shape is None:
        return array, input_shape
    n_pixels = int(np.prod(image_shape))
    if array.shape[1] != n_pixels:
        raise ValueError(
            f"{input_name} has {array.shape[1]} features per row, but image_shape="
            f"{tuple(image_shape)} needs {n_pixels} = "
            f"{' x '.join(map(str, image_shape))}."
        )
    return array.reshape((array.shape[0], *image_shape)), input_shape


def check_samples(
    X,
    *,
    image_shape=None,
    values="range",
    input_name="X",
    estimator_name="estimator",
):
    """Validate ``X`` and its values; return it as :class:`Samples`.

    Parameters
    ----------
    X : array-like of shape (n, bands, h, w), (n, h, w) or (n, features)
        Images or feature vectors. Any real numeric dtype; memmaps are kept.
        Also a lazy collection of files, or a 1-D list or array of FITS or
        JPEG/PNG paths (wrapped in one with default reading options).
    image_shape : tuple of int or None, default=None
        ``(bands, h, w)``: read 2-D rows as flattened images of this shape.
    values : {"range", "sampled", "finite"}, default="range"
        How the values are read (every reading refuses NaN and infinities):
        ``"range"`` reads every value and gives their range (at fit);
        ``"sampled"`` does so for data in memory, but reads only a few evenly
        spaced images of a lazy collection for its range, which checks each
        image for NaN as it is read later (at transform, where reading every
        file twice would double the cost); ``"finite"`` gives no range and
        reads nothing that cannot hold NaN (integers, lazy collections).
    input_name : str, default="X"
        Name of the argument, used in error messages.
    estimator_name : str, default="estimator"
        Name of the caller, used in error messages.

    Returns
    -------
    Samples
        The canonical view, the caller's per-sample shape and the values' range.

    Raises
    ------
    TypeError
        For object, string or boolean data.
    ValueError
        For complex data, empty input, a dimensionality other than 2, 3, 4, or
        NaN or infinite values. Whether a network takes the images is checked
        by :func:`skgalvae.nn.architectures.check_network_input`.
    """
    array = _as_array(X, input_name, estimator_name)
    _check_dtype(array, input_name, estimator_name)
    _check_ndim(array, input_name, estimator_name)
    _check_not_empty(array, input_name, estimator_name)
    data, input_shape = _canonical(array, image_shape, input_name, estimator_name)
    lazy = is_lazy(data)
    if values == "sampled" and lazy:
        value_range = sampled_range(data)
    else:
        need_range = values != "finite"
        value_range = scan_values(data, input_name, estimator_name, need_range)
        value_range = value_range if need_range else None
    sample_shape = tuple(data.shape[1:])
    return Samples(
        data=data,
        input_shape=input_shape,
        sample_shape=sample_shape,
        is_image=len(sample_shape) == 3,
        is_lazy=lazy,
        is_uint8=is_uint8(data),
        value_range=value_range,
    )


def _sample_nbytes(data):
    if torch.is_tensor(data):
        return data[0].numel() * data.element_size()
    return data[0].nbytes


def _rows(chunk):
    """Return a ``(samples, values)`` view of a numpy (read now) or torch chunk."""
    if torch.is_tensor(chunk):
        return chunk.reshape(len(chunk), -1)
    return np.asarray(chunk).reshape(len(chunk), -1)


def _min_max(chunk):
    if torch.is_tensor(chunk):
        low, high = torch.stack([chunk.min(), chunk.max()]).tolist()  # one sync
        return float(low), float(high)
    return float(chunk.min()), float(chunk.max())


def _non_finite(chunk):
    """Return NaN count, inf count and the first row holding either."""
    if torch.is_tensor(chunk):
        nan, inf = torch.isnan(chunk), torch.isinf(chunk)
        counts = torch.stack([nan.sum(), inf.sum()]).tolist()  # one sync
        if not any(counts):
            return 0, 0, None
        first = int(torch.nonzero((nan | inf).any(dim=1))[0, 0])
        return counts[0], counts[1], first
    nan, inf = np.isnan(chunk), np.isinf(chunk)
    n_nan, n_inf = int(nan.sum()), int(inf.sum())
    if not (n_nan or n_inf):
        return 0, 0, None
    return n_nan, n_inf, int(np.argmax((nan | inf).any(axis=1)))


#: Images of a lazy collection read to check its scale at transform.
N_SCALE_SAMPLE = 16


def sampled_range(data, n_rows=N_SCALE_SAMPLE):
    """Return ``(low, high)`` over up to ``n_rows`` evenly spaced rows of ``data``.

    For lazy collections at transform, where reading every file twice (to
    check, then to encode) would double the cost: a survey scaled unlike the
    fit shows in any of its images. NaN pixels are left out; None when the
    rows hold no finite value.
    """
    n = len(data)
    if n == 0:
        return None
    rows = evenly_spaced_rows(n, n_rows)
    values = np.asarray(data.read(rows) if is_lazy(data) else data[rows], dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.max())


def scan_values(data, input_name="X", estimator_name="estimator", need_range=True):
    """Check that all values are finite and return their range.

    The data is read in chunks of samples, so a memmap is never loaded whole and
    a GPU tensor is checked on the GPU without a large temporary. Integer data
    cannot hold NaN, so without ``need_range`` it is not read at all.

    Parameters
    ----------
    data : ndarray or torch.Tensor of shape (n, ...)
        The values.
    input_name, estimator_name : str
        Used in the error message.
    need_range : bool, default=True
        Compute and return the value range.

    Returns
    -------
    low, high : float
        Smallest and largest value (infinities when ``need_range`` is False).

    Raises
    ------
    ValueError
        If any value is NaN or infinite; the message gives how many and the
        first sample that holds one.
    """
    if not need_range and (dtype_kind(data) != "f" or is_lazy(data)):
        # Integers hold no NaN; lazy collections check every image as they
        # read it (their nan_policy), so a pass over the files would be wasted.
        return -np.inf, np.inf
    cpu_tensor = torch.is_tensor(data) and data.device.type == "cpu"
    if cpu_tensor and data.dtype != torch.bfloat16:
        data = data.numpy()  # a zero-copy view; numpy scans faster on the CPU
    n = data.shape[0]
    step = max(1, _SCAN_CHUNK_BYTES // max(1, _sample_nbytes(data)))
    low, high = np.inf, -np.inf
    n_nan = n_inf = 0
    first_bad = None
    floating = dtype_kind(data) == "f"
    chunk = None
    for start in range(0, n, step):
        del chunk  # the previous chunk goes before the next is read: one at a time
        chunk = _rows(data[start : start + step])
        if floating:
            nan_count, inf_count, bad_row = _non_finite(chunk)
            if nan_count or inf_count:
                n_nan += nan_count
                n_inf += inf_count
                if first_bad is None:
                    first_bad = start + bad_row
                continue
        if first_bad is None and need_range:
            chunk_low, chunk_high = _min_max(chunk)
            low, high = min(low, chunk_low), max(high, chunk_high)
    if first_bad is not None:
        counts = [f"{n_nan} NaN"] if n_nan else []
        counts += [f"{n_inf} infinite (inf)"] if n_inf else []
        raise ValueError(
            f"{input_name} contains {' and '.join(counts)} value(s); the first is in "
            f"sample {first_bad}. {estimator_name} needs finite input: mask, inpaint "
            f"or drop those samples first."
        )
    return low, high
