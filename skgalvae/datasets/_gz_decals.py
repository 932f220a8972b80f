"""Galaxy Zoo DECaLS DR5: the study's own labels, downloaded once and cached.

Walmsley et al. (2022) published the GZ DECaLS volunteer votes with colour
cutouts of the DECaLS DR5 galaxies. The files below are the ones the
``galaxy-datasets`` package (used by Zoobot) lists in
``galaxy_datasets/shared/gz_decals_5.py``, with the same URLs and MD5
checksums; skgalvae reads them with pooch instead of depending on that
package (which needs torchvision, pytorch-lightning and Hugging Face
datasets). The catalogues hold vote counts per answer in the "ortho" schema
(``smooth-or-featured-dr5_smooth``, ...), ``subfolder`` and ``filename`` of
each 424x424 JPEG in the image archive, and ids and coordinates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

from ..io import ImageFileDataset
from ..io._resize import check_resize
from ..labels import gzd5_labels
from ._fetch import RemoteFile, extract_archive, fetch_file, get_data_home

#: The published files (galaxy-datasets 0.0.25, gz_decals_5.py).
GZ_DECALS_FILES = {
    "train": RemoteFile(
        "decals_dr5_ortho_train_catalog.parquet",
        "https://dl.dropboxusercontent.com/s/1tuehajonhgv8a2/"
        "decals_dr5_ortho_train_catalog.parquet",
        "a0cd74edc073fdff068370f6eefeb802",
    ),
    "test": RemoteFile(
        "decals_dr5_ortho_test_catalog.parquet",
        "https://dl.dropboxusercontent.com/s/3vo6hjlnbqgzuxz/"
        "decals_dr5_ortho_test_catalog.parquet",
        "55820e3712b22e587f6971e4b6c73dfe",
    ),
    "images": RemoteFile(
        "decals_dr5_images.tar.gz",
        "https://dl.dropboxusercontent.com/s/bs6jp0mkgiekhww/decals_dr5_images.tar.gz",
        "1347de4c8df4ec579d5a58241c1f280b",
    ),
}

#: The GZD-5 answers of each question, as the ortho catalogues name them.
GZD5_ANSWERS = {
    "smooth-or-featured": ("smooth", "featured-or-disk", "artifact"),
    "disk-edge-on": ("yes", "no"),
    "has-spiral-arms": ("yes", "no"),
    "bar": ("strong", "weak", "no"),
    "bulge-size": ("dominant", "large", "moderate", "small", "none"),
    "how-rounded": ("round", "in-between", "cigar-shaped"),
    "edge-on-bulge": ("boxy", "none", "rounded"),
    "spiral-winding": ("tight", "medium", "loose"),
    "spiral-arm-count": ("1", "2", "3", "4", "more-than-4", "cant-tell"),
    "merging": ("none", "minor-disturbance", "major-disturbance", "merger"),
}
_CAMPAIGN = "-dr5"
_FOLDER = "gz_decals_5"
_SUBSETS = ("train", "test", "all")


def vote_fractions(catalog: pd.DataFrame, source: str = "catalog") -> pd.DataFrame:
    """Turn ortho-schema vote counts into GZD-5 vote fractions.

    Parameters
    ----------
    catalog : DataFrame
        Columns ``{question}-dr5_{answer}`` with vote counts.
    source : str, default="catalog"
        Its name, for messages.

    Returns
    -------
    DataFrame
        ``{question}_{answer}_fraction`` for every answer (count over the
        question's total; NaN where nobody answered) and
        ``{question}_total-votes``, as :func:`~skgalvae.labels.gzd5_labels`
        reads them.

    Raises
    ------
    KeyError
        Naming the count columns that are missing.
    """
    columns = {
        (q, a): f"{q}{_CAMPAIGN}_{a}"
        for q, answers in GZD5_ANSWERS.items()
        for a in answers
    }
    missing = [c for c in columns.values() if c not in catalog.columns]
    if missing:
        raise KeyError(
            f"{source} lacks the GZ DECaLS DR5 vote-count columns {missing[:4]}"
            f"{' ...' if len(missing) > 4 else ''} ({len(missing)} of {len(columns)})."
        )
    fractions = {}
    for question, answers in GZD5_ANSWERS.items():
        counts = catalog[[columns[question, a] for a in answers]].to_numpy(np.float64)
        total = counts.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = counts / total[:, None]
        share[total == 0] = np.nan
        for i, answer in enumerate(answers):
            fractions[f"{question}_{answer}_fraction"] = share[:, i]
        fractions[f"{question}_total-votes"] = total
    return pd.DataFrame(fractions, index=catalog.index)


def _read_catalog(path):
    try:
        return pd.read_parquet(path)
    except ImportError as exc:
        raise ImportError(
            f"Reading {path} needs pyarrow: pip install 'skgalvae[survey]'."
        ) from exc


def _image_directory(root, catalog, source):
    """Return the folder holding the catalogue's ``subfolder/filename``."""
    first = catalog.iloc[0]
    relative = f"{first['subfolder']}/{first['filename']}"
    for candidate in (root / "images", root):
        if (candidate / relative).is_file():
            return candidate
    found = sorted(root.glob(f"*/{relative}"))
    if found:
        return found[0].parents[1]
    raise FileNotFoundError(
        f"The image archive in {root} has no {relative}, the first image {source} "
        f"lists: the archive and the catalogue do not belong together."
    )


def fetch_gz_decals(
    data_home=None,
    *,
    subset: str = "train",
    n_samples: int | None = None,
    image_size: int | None = 64,
    resize: str = "area",
    random_state=0,
    download_if_missing: bool = True,
) -> Bunch:
    """Load Galaxy Zoo DECaLS DR5 cutouts and votes, downloading them once.

    The study's own labels (Walmsley et al. 2022): colour JPEG cutouts of
    DECaLS DR5 galaxies (424x424, g, r, z mapped to colour) with the GZD-5
    volunteer votes. The first call downloads the two catalogues and the
    image archive (several GB) into ``data_home`` and checks their published
    MD5 checksums; later calls read the cache. A download cut short leaves
    nothing behind and is restarted by the next call.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The cache; None uses ``$SKGALVAE_DATA``, else ``~/skgalvae_data``.
        The files go to its ``gz_decals_5`` folder.
    subset : {"train", "test", "all"}, default="train"
        The published train or test split, or both (train first).
    n_samples : int or None, default=None
        Draw this many galaxies at random (``random_state``), keeping their
        catalogue order; None loads all (about 250,000 for "all").
    image_size : int or None, default=64
        Resample the cutouts to this side; None keeps 424.
    resize : {"area", "bilinear", "crop"}, default="area"
        How to reach ``image_size``.
    random_state : int, RandomState instance or None, default=0
        For ``n_samples``.
    download_if_missing : bool, default=True
        False raises an ``OSError`` instead of downloading a missing file.

    Returns
    -------
    Bunch
        Dictionary-like, as :func:`load_gz_desi` gives, with the attributes:

        images : ndarray of shape (n, 3, image_size, image_size), uint8
            The colour cutouts.
        labels : pandas.DataFrame
            The study's nine questions (:func:`~skgalvae.labels.gzd5_labels`),
            NaN where a galaxy has no class for one.
        votes : pandas.DataFrame
            GZD-5 vote fractions ``{question}_{answer}_fraction`` and totals.
        params : pandas.DataFrame
            ``id``, ``ra``, ``dec`` and the other catalogue columns that are
            not votes.
        ids : ndarray
            The galaxy ids (``id_str``, else ``iauname``).
        survey : str
            ``"decals"``.
        bands : tuple of str
            ``("R", "G", "B")``.

    Raises
    ------
    OSError
        If a file is missing with ``download_if_missing=False``, or the
        download fails (the message names the URL).
    ValueError
        If a download fails its checksum, or an argument is invalid.

    Examples
    --------
    >>> from skgalvae.datasets import fetch_gz_decals
    >>> data = fetch_gz_decals(n_samples=2000)  # doctest: +SKIP
    >>> data.images.shape, list(data.labels.columns)[:2]  # doctest: +SKIP
    ((2000, 3, 64, 64), ['how_rounded', 'edge_on'])
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}; got {subset!r}.")
    check_resize(image_size, resize)
    if n_samples is not None and (not isinstance(n_samples, int) or n_samples < 1):
        raise ValueError(
            f"n_samples must be a positive int or None; got {n_samples!r}."
        )
    root = get_data_home(data_home) / _FOLDER
    root.mkdir(exist_ok=True)
    parts = ["train", "test"] if subset == "all" else [subset]
    catalogs = []
    for part in parts:
        remote = GZ_DECALS_FILES[part]
        path = fetch_file(remote, root, download_if_missing=download_if_missing)
        catalogs.append(_read_catalog(path))
    catalog = pd.concat(catalogs, ignore_index=True)
    source = " + ".join(GZ_DECALS_FILES[p].name for p in parts)
    for column in ("subfolder", "filename"):
        if column not in catalog.columns:
            raise KeyError(f"{source} lacks the {column!r} column of the images.")
    votes = vote_fractions(catalog, source)
    if n_samples is not None:
        if n_samples > len(catalog):
            raise ValueError(
                f"n_samples={n_samples} asks for more galaxies than {source} holds "
                f"({len(catalog)})."
            )
        rng = check_random_state(random_state)
        keep = np.sort(rng.choice(len(catalog), n_samples, replace=False))
        catalog = catalog.iloc[keep].reset_index(drop=True)
        votes = votes.iloc[keep].reset_index(drop=True)
    archive = fetch_file(
        GZ_DECALS_FILES["images"], root, download_if_missing=download_if_missing
    )
    extract_archive(archive, root, marker=".images_extracted")
    image_dir = _image_directory(root, catalog, source)
    paths = [
        str(image_dir / sub / name)
        for sub, name in zip(catalog["subfolder"], catalog["filename"], strict=True)
    ]
    images = np.asarray(ImageFileDataset(paths, size=image_size, resize=resize))
    id_column = next((c for c in ("id_str", "iauname") if c in catalog.columns), None)
    ids = (
        catalog[id_column].astype(str).to_numpy()
        if id_column is not None
        else catalog["filename"].astype(str).to_numpy()
    )
    # Every campaign's vote columns (-dr5, and -dr12/-dr8 where present) are votes.
    vote_columns = [
        c for c in catalog.columns if any(c.startswith(f"{q}-dr") for q in GZD5_ANSWERS)
    ]
    params = catalog.drop(columns=vote_columns)
    params.insert(0, "id", ids)
    for column in ("ra", "dec"):
        if column not in params.columns:
            params[column] = np.nan
    return Bunch(
        images=np.ascontiguousarray(images),
        labels=gzd5_labels(votes),
        votes=votes,
        params=params,
        ids=ids,
        survey="decals",
        bands=("R", "G", "B"),
    )
