"""The 8 poses of a square image, and the pose that best matches a reconstruction.

A galaxy has no preferred orientation on the sky. With pose-free latents
(``invariance="dihedral"`` on the estimators) the decoder draws each galaxy
in a pose of its own choosing, and the likelihood scores the reconstruction
against the best-matching of the target's 8 poses: the 4 quarter turns of
the image and of its mirror image (the dihedral group D4). The encoder then
has no reason to spend latents on the position angle (the pose-marginalised
reconstruction of rotation-invariant autoencoders; Nasiri & Bepler 2022).

Pose ``p`` (0-7) mirrors the image left-right when ``p >= 4``, then turns it
``p % 4`` quarter turns anticlockwise (:func:`apply_pose`).
"""

from __future__ import annotations

import torch

__all__ = [
    "N_POSES",
    "POSE_NAMES",
    "align_to_input",
    "apply_pose",
    "best_pose",
    "match_pose",
]

#: Number of poses of a square image: 4 quarter turns, each mirrored or not.
N_POSES = 8

#: What each pose does, by index.
POSE_NAMES = tuple(
    ("mirror, then " if mirrored else "") + f"{turns * 90} deg anticlockwise"
    for mirrored in (False, True)
    for turns in range(4)
)


def apply_pose(x, pose):
    """Return square images ``x`` of shape (n, bands, side, side) in pose ``pose``.

    Parameters
    ----------
    x : torch.Tensor of shape (n, bands, side, side)
        Square images.
    pose : int
        0-7: a left-right mirror when ``pose >= 4``, then ``pose % 4``
        quarter turns anticlockwise.

    Returns
    -------
    torch.Tensor
        Same shape as ``x``.
    """
    if pose >= 4:
        x = x.flip(-1)
    return torch.rot90(x, pose % 4, dims=(-2, -1))


def inverse_pose(pose):
    """Return the pose that undoes ``pose``."""
    if pose >= 4:  # a mirror then k turns is its own inverse
        return pose
    return (4 - pose) % 4


def _pose_errors(x_hat, x, metric):
    """Per-sample error of ``x_hat`` against each pose of ``x``: (8, n)."""
    x_hat = x_hat.float()
    x = x.float()
    errors = []
    for pose in range(N_POSES):
        diff = x_hat - apply_pose(x, pose)
        power = diff.square() if metric == "mse" else diff.abs()
        errors.append(power.flatten(1).sum(dim=1))
    return torch.stack(errors)


def _select(candidate, index):
    """Row ``i`` of ``candidate(index[i])``, one pose at a time (no host sync)."""
    out = candidate(0)
    for pose in range(1, N_POSES):
        chosen = (index == pose).view(-1, *([1] * (out.ndim - 1)))
        out = torch.where(chosen, candidate(pose), out)
    return out


def match_pose(x_hat, x, metric="mse"):
    """Return the pose (0-7) of each target ``x`` closest to its reconstruction.

    Only the index, without building the posed targets (see :func:`best_pose`).

    Returns
    -------
    torch.Tensor of int64, shape (n,)
    """
    with torch.no_grad():
        return _pose_errors(x_hat.detach(), x.detach(), metric).argmin(dim=0)


def best_pose(x_hat, x, metric="mse"):
    """Return the pose of each target ``x`` that best matches its reconstruction.

    Parameters
    ----------
    x_hat, x : torch.Tensor of shape (n, bands, side, side)
        Reconstructions and targets.
    metric : {"mse", "mae"}, default="mse"
        Squared or absolute error, summed over the image.

    Returns
    -------
    aligned : torch.Tensor, shape of ``x``
        Each target in its best pose: the one the likelihood should score
        ``x_hat`` against. Gradients flow to ``x_hat`` only through the
        likelihood, as with a fixed target.
    pose : torch.Tensor of int64, shape (n,)
        The pose (:func:`apply_pose`) that turns each target into ``aligned``.
    """
    pose = match_pose(x_hat, x, metric)
    return _select(lambda p: apply_pose(x, p), pose), pose


def align_to_input(x_hat, x, metric="mse"):
    """Turn each reconstruction back into the pose of its input.

    A pose-free decoder draws a galaxy in a pose of its own; this undoes it,
    so that a reconstruction can be compared with (or shown beside) its
    input pixel by pixel.

    Parameters
    ----------
    x_hat, x : torch.Tensor of shape (n, bands, side, side)
        Reconstructions and the inputs they came from.
    metric : {"mse", "mae"}, default="mse"
        Error that decides the match.

    Returns
    -------
    x_hat : torch.Tensor
        The reconstructions, each in its input's pose.
    pose : torch.Tensor of int64, shape (n,)
        The pose that turns each input into the decoder's drawing.
    """
    pose = match_pose(x_hat, x, metric)
    return _select(lambda p: apply_pose(x_hat, inverse_pose(p)), pose), pose
