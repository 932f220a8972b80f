"""Load Galaxy Zoo DESI colour cutouts with Galaxy Zoo 1 labels from disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..io._resize import check_resize, resize_images

GZ1_CLASSES = ("spiral", "elliptical", "uncertain")
_FLAGS = ("SPIRAL", "ELLIPTICAL", "UNCERTAIN")
_REQUIRED_VOTES = ("NVOTE", "P_EL", "P_CS")


def _read_images(path):
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "images" not in npz.files:
                raise KeyError(
                    f"{path} has no 'images' array; it holds {sorted(npz.files)}."
                )
            images = npz["images"]
            try:
                ids = npz["dr8_id"] if "dr8_id" in npz.files else None
            except ValueError:  # stored as objects: needs pickle, which we refuse
                ids = None
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"Image file not found: {path}") from exc
    if images.ndim != 4:
        raise ValueError(
            f"{path}: 'images' must be (n, bands, h, w); got shape {images.shape}."
        )
    return images, ids


def _gz1_labels(catalog, path):
    missing = [c for c in (*_FLAGS, *_REQUIRED_VOTES) if c not in catalog.columns]
    if missing:
        raise KeyError(f"{path} lacks the Galaxy Zoo 1 columns {missing}.")
    flags = catalog[list(_FLAGS)].to_numpy()
    if not np.isin(flags, (0, 1)).all() or (flags.sum(axis=1) != 1).any():
        bad = int(
            np.flatnonzero(~np.isin(flags, (0, 1)).all(1) | (flags.sum(1) != 1))[0]
        )
        raise ValueError(
            f"{path}: row {bad} must have exactly one of {list(_FLAGS)} set to 1; "
            f"got {flags[bad].tolist()}."
        )
    return pd.Categorical.from_codes(flags.argmax(axis=1), categories=GZ1_CLASSES)


def load_gz_desi(
    path: str | os.PathLike,
    *,
    image_size: int | None = None,
    resize: str = "area",
) -> Bunch:
    """Load Galaxy Zoo DESI cutouts with Galaxy Zoo 1 labels.

    The directory holds ``images.npz`` (an ``images`` array, uint8
    (n, 3, h, w), channel-first colour cutouts of DESI Legacy Imaging Surveys
    DR8 as prepared for Galaxy Zoo DESI, g, r, z mapped to colour; optionally
    ``dr8_id``) and ``catalog.csv`` with one row per image in the same order:
    Galaxy Zoo 1 vote fractions ``P_EL``, ``P_CW``, ``P_ACW``, ``P_EDGE``,
    ``P_DK``, ``P_MG``, ``P_CS`` (and debiased ``P_EL_DEBIASED``,
    ``P_CS_DEBIASED``), ``NVOTE`` and the flags ``SPIRAL``, ``ELLIPTICAL``,
    ``UNCERTAIN``. The Bunch has the shape of
    :func:`~skgalvae.datasets.make_galaxies`'s.

    The imaging is public data of the DESI Legacy Imaging Surveys (Dey et al.
    2019); the labels are Galaxy Zoo 1's (Lintott et al. 2008, 2011). Cite
    them when you publish results.

    Parameters
    ----------
    path : str or path-like
        The directory.
    image_size : int, default=None
        Resample the cutouts to this side (uint8 kept); None keeps them.
    resize : {"area", "bilinear", "crop"}, default="area"
        How to reach ``image_size``.

    Returns
    -------
    Bunch
        Dictionary-like, with the attributes:

        images : ndarray of shape (n, 3, h, w), uint8
            The colour cutouts.
        labels : pandas.DataFrame
            ``gz1_class``: categorical spiral / elliptical / uncertain.
        votes : pandas.DataFrame
            ``NVOTE`` and every ``P_*`` vote-fraction column.
        params : pandas.DataFrame
            The remaining catalogue columns (ids, coordinates).
        survey : str
            ``"decals"``.
        bands : tuple of str
            ``("R", "G", "B")``: colour channels, not survey bands.

    Raises
    ------
    FileNotFoundError
        If a file is missing (named).
    KeyError, ValueError
        If the catalogue lacks columns, its rows do not match the images in
        number or ``dr8_id``, or a row has no single class flag.
    """
    path = Path(path)
    check_resize(image_size, resize)
    images, ids = _read_images(path / "images.npz")
    catalog_path = path / "catalog.csv"
    if not catalog_path.is_file():
        raise FileNotFoundError(f"Catalogue not found: {catalog_path}")
    catalog = pd.read_csv(catalog_path, dtype={"dr8_id": str, "OBJID": str})
    if len(catalog) != len(images):
        raise ValueError(
            f"{catalog_path} has {len(catalog)} rows but {path / 'images.npz'} has "
            f"{len(images)} images; they must match row for row."
        )
    if ids is not None and "dr8_id" in catalog.columns:
        mismatch = np.flatnonzero(ids.astype(str) != catalog["dr8_id"].astype(str))
        if mismatch.size:
            i = int(mismatch[0])
            expected, found = str(ids[i]), catalog["dr8_id"].iloc[i]
            raise ValueError(
                f"Row {i}: images.npz has dr8_id {expected!r} but {catalog_path} "
                f"has {found!r}; the files are not in the same order."
            )
    labels = pd.DataFrame({"gz1_class": _gz1_labels(catalog, catalog_path)})
    vote_columns = ["NVOTE"] + [c for c in catalog.columns if c.startswith("P_")]
    votes = catalog[vote_columns].copy()
    params = catalog.drop(columns=[*_FLAGS, *vote_columns])
    images = resize_images(images, image_size, resize, str(path / "images.npz"))
    return Bunch(
        images=np.ascontiguousarray(images),
        labels=labels,
        votes=votes,
        params=params,
        survey="decals",
        bands=("R", "G", "B"),
    )
