"""The galaxies a study runs on: built-in, Galaxy Zoo DESI, or the user's FITS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets import fetch_gz_decals, load_gz_desi, make_galaxies
from ..exceptions import StudyInputError
from ..io import read_fits, read_path_list
from ..labels import GZD5_QUESTIONS, first_level_classes, gzd5_labels
from ..preprocessing import MTFStretch

__all__ = ["StudyData", "StudyInputError", "load_study_data"]


@dataclass
class StudyData:
    """Images with labels, and how the study should treat them.

    Attributes
    ----------
    name : str
        Human-readable description for the report.
    images : ndarray of shape (n, bands, h, w)
        Raw images, as the pipeline receives them.
    labels : DataFrame
        One column per classification question; NaN where a galaxy has no
        class for it (GZD-5's nine, or ``gz1_class``).
    classes : Series
        The first-level class of each galaxy, for per-class SSIM and colours.
    stretch : bool
        Whether images are linear fluxes needing the study's MTF stretch
        (False for 8-bit colour cutouts, already display-stretched).
    truth : DataFrame or None
        The simulator's truth (``star``, ``defect``), for checking outliers.
    ids : ndarray
        An identifier per galaxy.
    """

    name: str
    images: np.ndarray
    labels: pd.DataFrame
    classes: pd.Series
    stretch: bool
    truth: pd.DataFrame | None
    ids: np.ndarray

    @property
    def is_simulated(self) -> bool:
        """True for the built-in simulator (survey pairs can be rendered)."""
        return self.truth is not None


def _subsample(n_available, n_samples, seed, where):
    if n_samples is None:
        return np.arange(n_available)
    if n_samples > n_available:
        raise StudyInputError(
            f"n_samples={n_samples} asks for more galaxies than {where} holds "
            f"({n_available})."
        )
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_available, n_samples, replace=False))


def _builtin(config):
    data = make_galaxies(
        config.n_samples, image_size=config.image_size, random_state=config.seed
    )
    return StudyData(
        name=f"{config.n_samples} simulated DECaLS galaxies (built-in simulator)",
        images=data.images,
        labels=data.labels,
        classes=first_level_classes(data.labels),
        stretch=True,
        truth=data.params[["star", "defect", "morphology"]].assign(
            defect=lambda p: p["defect"] != "none"
        ),
        ids=np.arange(config.n_samples),
    )


def _gz_desi(config):
    data = load_gz_desi(config.data_path, image_size=config.image_size)
    keep = _subsample(len(data.images), config.n_samples, config.seed, config.data_path)
    labels = data.labels.iloc[keep].reset_index(drop=True)
    labels["gz1_class"] = labels["gz1_class"].astype(str)
    ids = data.params["dr8_id"].to_numpy()[keep]
    return StudyData(
        name=f"{len(keep)} Galaxy Zoo DESI cutouts from {config.data_path}",
        images=data.images[keep],
        labels=labels[["gz1_class"]],
        classes=labels["gz1_class"],
        stretch=False,
        truth=None,
        ids=np.asarray(ids),
    )


def _gz_decals(config):
    data = fetch_gz_decals(
        config.data_path,
        subset="all",
        n_samples=config.n_samples,
        image_size=config.image_size,
        random_state=config.seed,
    )
    where = config.data_path or "the default data home"
    return StudyData(
        name=f"{len(data.images)} Galaxy Zoo DECaLS DR5 cutouts (cache: {where})",
        images=data.images,
        labels=data.labels,
        classes=first_level_classes(data.labels),
        stretch=False,
        truth=None,
        ids=np.asarray(data.ids),
    )


def _read_catalog(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Catalogue not found: {path}")
    if path.suffix.lower() in {".fits", ".fit", ".fz"}:
        from astropy.table import Table

        return Table.read(path).to_pandas()
    return pd.read_csv(path)


def _fits_list(config):
    list_path = Path(config.data_path)
    if not list_path.is_file():
        raise FileNotFoundError(f"FITS list not found: {list_path}")
    paths = read_path_list(list_path)
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of the {len(paths)} files listed in {list_path} do not "
            f"exist, e.g. {missing[:3]}."
        )
    catalog = _read_catalog(config.catalog_path)
    if len(catalog) != len(paths):
        raise ValueError(
            f"{config.catalog_path} has {len(catalog)} rows but {list_path} lists "
            f"{len(paths)} files; row i of the catalogue describes file i."
        )
    try:
        labels = gzd5_labels(catalog)
    except KeyError as exc:
        raise KeyError(
            f"{config.catalog_path} cannot label the GZD-5 questions: {exc.args[0]}"
        ) from exc
    keep = _subsample(len(paths), config.n_samples, config.seed, str(list_path))
    images = read_fits([paths[i] for i in keep], size=config.image_size)
    labels = labels.iloc[keep].reset_index(drop=True)
    return StudyData(
        name=f"{len(keep)} FITS cutouts listed in {list_path}",
        images=images,
        labels=labels,
        classes=first_level_classes(labels),
        stretch=True,
        truth=None,
        ids=np.asarray([paths[i] for i in keep]),
    )


def load_study_data(config) -> StudyData:
    """Load the galaxies ``config`` names.

    Parameters
    ----------
    config : StudyConfig
        The run's settings.

    Returns
    -------
    StudyData
    """
    loaders = {
        "builtin": _builtin,
        "gz_desi": _gz_desi,
        "gz_decals": _gz_decals,
        "fits": _fits_list,
    }
    if config.data in ("gz_desi", "fits") and config.data_path is None:
        raise StudyInputError(f"data={config.data!r} needs a data_path.")
    if config.data == "fits" and config.catalog_path is None:
        raise StudyInputError("FITS cutouts need a catalogue of GZD-5 vote fractions.")
    try:
        return loaders[config.data](config)
    except (OSError, KeyError, ValueError, ImportError) as exc:
        # Missing files, absent columns, bad shapes: the reader's message
        # names the file; KeyError's own str() would add quotes.
        message = exc.args[0] if exc.args else repr(exc)
        raise StudyInputError(message) from exc


def questions_of(data: StudyData) -> list:
    """List the classification questions the labels allow, in study order."""
    gzd5 = [q for q in GZD5_QUESTIONS if q in data.labels]
    return gzd5 or list(data.labels.columns)


def stretcher(data: StudyData):
    """Return the first pipeline step: the study's MTF stretch, or nothing."""
    return MTFStretch() if data.stretch else "passthrough"
