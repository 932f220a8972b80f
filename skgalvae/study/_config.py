"""The settings of one study run, with the quick and default presets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

__all__ = ["STUDY_FIELDS", "STUDY_MODELS", "StudyConfig"]

#: The VAEs a study run can search, by name: their VAETransformer parameters.
#: ``"skgalvae"`` is the package's default model and ``"pose-free"`` the same
#: with pose-free latents (``invariance="dihedral"``); ``"xu2023"`` the
#: study's exact one (its network, summed squared error and constant learning
#: rate), and ``"xu2023-mae"`` the same with the absolute error it also tried.
_PAPER = {"architecture": "xu2023", "lr_schedule": "constant", "augment": None}
STUDY_MODELS = {
    "skgalvae": {},
    "pose-free": {"invariance": "dihedral"},
    "xu2023": {**_PAPER, "likelihood": "sse"},
    "xu2023-mae": {**_PAPER, "likelihood": "sae"},
}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class StudyConfig:
    """Everything a study run depends on; stages are cached on these values.

    The defaults are the built-in run: a few thousand simulated galaxies at
    64x64, about 40 minutes on 2 CPU cores.
    :meth:`quick` shrinks it to a smoke run of a couple of minutes.

    Parameters
    ----------
    data : {"builtin", "gz_desi", "gz_decals", "fits"}, default="builtin"
        Where the galaxies come from: the simulator, a Galaxy Zoo DESI
        directory (:func:`skgalvae.datasets.load_gz_desi`), Galaxy Zoo DECaLS
        DR5 cutouts and votes (:func:`skgalvae.datasets.fetch_gz_decals`,
        downloaded once), or FITS cutouts with a GZD-5 vote-fraction
        catalogue.
    data_path : str or None, default=None
        The gz_desi directory, the gz_decals cache (``data_home``; None for
        the default one), or the text file listing FITS paths.
    catalog_path : str or None, default=None
        The catalogue (CSV or FITS table) for ``data="fits"``.
    image_size : int, default=64
        Side of the images in pixels; a multiple of 64.
    n_samples : int or None, default=3000
        Number of galaxies. None takes all of a real data set.
    latents : tuple of int, default=(2, 4, 8, 16, 40, 100)
        Candidate latent dimensions. The study's grid is
        (10, 20, 40, 60, 80, 100) for real 256x256 cutouts (Sec. 4.1);
        the simulator's 64x64 galaxies have about fifteen free parameters and
        saturate below 10 latents, so the default starts lower to show where
        the SSIM curve bends.
    models : tuple of str, default=("skgalvae", "xu2023")
        VAEs searched side by side, keys of ``STUDY_MODELS``: the package's
        default model and the study's exact one. The knee of the first picks
        the model that the later stages use.
    epochs : int, default=8
        Training epochs of each VAE fit in the search. The search only ranks
        the candidates, so it can stop early.
    final_epochs : int, default=24
        Training epochs of the chosen model, refit on all training galaxies.
    batch_size : int or None, default=None
        None picks a power of two giving about 60 steps per epoch (16-256).
    cv : int, default=1
        Cross-validation splits of the latent search; 1 is a single 75/25
        validation split, which keeps the default run within budget.
    test_size : float, default=0.3
        Held-out share of the galaxies (the study's 70/30).
    n_pairs : int, default=1500
        Galaxies imaged by both surveys for domain adaptation.
    da_epochs : int, default=8
        Fine-tuning epochs of each domain adaptation.
    mmd_weights : tuple of float, default=(1.0,)
        Scale-free ``mmd_weight`` values of the package's default adaptation
        (the DECaLS encoder and decoder anchored, cluster-wise MMD, balanced
        weights).
    fixed_mmd_weights : tuple of float, default=(0.5,)
        ``mmd_weight`` values of the study's own method (one shared encoder,
        MMD, ``weighting="fixed"``): the study's 0.5.
    n_sigma : float, default=8.0
        Outlier threshold in latent standard deviations (the study's 8).
    n_trees : int, default=200
        Trees of each random forest.
    probe_repeats : int, default=3
        Repeats of the 5 stratified folds over which the latents and PCA are
        judged by three probes (forest, logistic regression, nearest
        neighbours), with their spread.
    min_question_samples : int, default=20
        A question with fewer labelled training galaxies is skipped and
        reported with its count.
    tsne_max : int, default=1500
        At most this many test galaxies go into the t-SNE map.
    device : str, default="auto"
        Torch device of every VAE.
    seed : int, default=0
        Seed of data, splits, models and forests.
    smoke : bool, default=False
        A smoke run (:meth:`quick` sets it): the report and ``results.json``
        say that its numbers check the installation and are not results.
    """

    data: str = "builtin"
    data_path: str | None = None
    catalog_path: str | None = None
    image_size: int = 64
    n_samples: int | None = 3000
    latents: tuple = (2, 4, 8, 16, 40, 100)
    models: tuple = ("skgalvae", "xu2023")
    epochs: int = 8
    final_epochs: int = 24
    batch_size: int | None = None
    cv: int = 1
    test_size: float = 0.3
    n_pairs: int = 1500
    da_epochs: int = 8
    mmd_weights: tuple = (1.0,)
    fixed_mmd_weights: tuple = (0.5,)
    n_sigma: float = 8.0
    n_trees: int = 200
    probe_repeats: int = 3
    min_question_samples: int = 20
    tsne_max: int = 1500
    device: str = "auto"
    seed: int = 0
    smoke: bool = False

    def __post_init__(self):
        self._check_types()
        if self.data not in {"builtin", "gz_desi", "gz_decals", "fits"}:
            raise ValueError(
                "data must be 'builtin', 'gz_desi', 'gz_decals' or 'fits'; got "
                f"{self.data!r}."
            )
        if self.image_size < 64 or self.image_size % 64:
            raise ValueError(
                f"image_size must be a multiple of 64; got {self.image_size}."
            )
        if len(self.latents) < 2 or len(set(self.latents)) != len(self.latents):
            raise ValueError(
                "latents needs at least 2 distinct candidates to find a knee; got "
                f"{tuple(self.latents)}."
            )
        unknown = set(self.models) - set(STUDY_MODELS)
        if not self.models or unknown or len(set(self.models)) != len(self.models):
            raise ValueError(
                f"models must be distinct names from {sorted(STUDY_MODELS)}; got "
                f"{tuple(self.models)}."
            )
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be in (0, 1); got {self.test_size}.")
        self._check_ranges()

    #: The smallest value of each integer field (None is allowed where the
    #: field's type says so).
    _MINIMA = {
        "n_samples": 1,
        "epochs": 1,
        "final_epochs": 1,
        "batch_size": 1,
        "cv": 1,
        "n_pairs": 2,
        "da_epochs": 1,
        "n_trees": 1,
        "probe_repeats": 1,
        "min_question_samples": 1,
        "tsne_max": 2,
        "seed": 0,
    }

    def _check_ranges(self):
        """Refuse values out of range, each field named, whatever set it."""
        for name, low in self._MINIMA.items():
            value = getattr(self, name)
            if value is not None and value < low:
                raise ValueError(f"{name} must be >= {low}; got {value}.")
        if not all(_is_int(v) and v >= 1 for v in self.latents):
            raise ValueError(
                f"latents must be whole numbers >= 1; got {tuple(self.latents)}."
            )
        if not all(isinstance(m, str) for m in self.models):
            raise ValueError(f"models must be names; got {tuple(self.models)}.")
        for name in ("mmd_weights", "fixed_mmd_weights"):
            values = tuple(getattr(self, name))
            if not all(_is_number(v) and math.isfinite(v) and v > 0 for v in values):
                raise ValueError(f"{name} must be numbers > 0; got {values}.")
        if not self.mmd_weights and not self.fixed_mmd_weights:
            raise ValueError(
                "mmd_weights and fixed_mmd_weights are both empty: give at least "
                "one weight to adapt with."
            )
        if not (math.isfinite(self.n_sigma) and self.n_sigma > 0):
            raise ValueError(f"n_sigma must be a number > 0; got {self.n_sigma}.")
        if self.device != "auto":  # "auto" (the default) needs no torch import
            from ..nn._device import parse_device

            parse_device(self.device)

    def _check_types(self):
        """Refuse a field of the wrong kind (e.g. from a settings file)."""
        kinds = {
            "int": (int,),
            "float": (int, float),
            "str": (str,),
            "tuple": (tuple, list),
            "bool": (bool,),
        }
        for field in fields(self):
            value = getattr(self, field.name)
            names = [name.strip() for name in str(field.type).split("|")]
            if value is None and "None" in names:
                continue
            allowed = tuple(t for name in names for t in kinds.get(name, ()))
            if (isinstance(value, bool) and bool not in allowed) or not isinstance(
                value, allowed
            ):
                raise TypeError(
                    f"{field.name} must be {' or '.join(names)}; got {value!r}."
                )

    @classmethod
    def quick(cls, **overrides) -> StudyConfig:
        """Make a smoke run of every stage: a couple of minutes on 2 CPU cores.

        Parameters
        ----------
        **overrides
            Fields to set; they win over the quick sizes.

        Returns
        -------
        StudyConfig
        """
        # Its minute goes where it shows: a two-point search of the package's
        # model only, then a refit long enough that its reconstructions and
        # traversals show galaxies rather than one mean blob.
        sizes = dict(
            n_samples=300,
            latents=(4, 16),
            models=("skgalvae",),
            epochs=3,
            final_epochs=12,
            n_pairs=200,
            da_epochs=2,
            n_trees=100,
            probe_repeats=1,
            min_question_samples=10,
            tsne_max=300,
            smoke=True,
        )
        return replace(cls(), **{**sizes, **overrides})

    def model_params(self, model: str) -> dict:
        """Return the VAETransformer parameters of the named study model."""
        return dict(STUDY_MODELS[model])

    def batch_size_for(self, n_train: int) -> int:
        """Return the batch size for ``n_train`` training images."""
        if self.batch_size is not None:
            return self.batch_size
        return int(min(256, max(16, 2 ** round(math.log2(max(n_train, 1) / 60)))))

    def reduced(self) -> list[str]:
        """Return how this run is smaller than the default one, field by field.

        What a smoke run's report lists as skipped.

        Examples
        --------
        >>> from skgalvae.study import StudyConfig
        >>> StudyConfig(n_samples=300, epochs=2).reduced()
        ['n_samples 300 (full run: 3000)', 'epochs 2 (full run: 8)']
        >>> StudyConfig(data="gz_desi", n_samples=300).reduced()
        ['n_samples 300 (full run: all)']
        """
        # A real data set's full run takes all of it (the command's default).
        full = type(self)(**({} if self.data == "builtin" else {"n_samples": None}))
        words = []
        for field in fields(self):
            mine, theirs = getattr(self, field.name), getattr(full, field.name)
            if field.name in _SIZE_FIELDS and mine != theirs:
                words.append(
                    f"{field.name} {_words(mine)} (full run: {_words(theirs)})"
                )
        return words

    def plan(self) -> str:
        """Return one line saying what a run with these settings will do.

        Examples
        --------
        >>> from skgalvae.study import StudyConfig
        >>> config = StudyConfig(latents=(10, 40), models=("skgalvae",))
        >>> print(config.plan())  # doctest: +NORMALIZE_WHITESPACE
        3,000 simulated galaxies at 64x64: n_latent 10, 40 for skgalvae
        (8 epochs each, 1 split), refit 24 epochs; forests vs PCA; adaptation
        on 1,500 simulated pairs (2 runs, 8 epochs); outliers; figures
        """
        sources = {
            "builtin": "simulated galaxies",
            "gz_desi": "gz_desi cutouts",
            "gz_decals": "Galaxy Zoo DECaLS cutouts",
            "fits": "FITS cutouts",
        }
        count = "all" if self.n_samples is None else f"{self.n_samples:,}"
        side = f"{self.image_size}x{self.image_size}"
        splits = f"{self.cv} split" + ("s" if self.cv > 1 else "")
        n_runs = len(self.mmd_weights) + len(self.fixed_mmd_weights)
        return (
            f"{count} {sources[self.data]} at {side}: n_latent "
            f"{', '.join(str(n) for n in self.latents)} for "
            f"{' and '.join(self.models)} ({self.epochs} epochs each, {splits}), "
            f"refit {self.final_epochs} epochs; forests vs PCA; adaptation on "
            f"{self.n_pairs:,} simulated pairs ({n_runs} run"
            f"{'s' if n_runs > 1 else ''}, {self.da_epochs} epochs); outliers; "
            f"figures" + (" (a smoke run)" if self.smoke else "")
        )

    def to_dict(self) -> dict:
        """Return the settings as a JSON-ready dict."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
        }


#: The fields that size a run (what a smoke run shrinks).
_SIZE_FIELDS = frozenset(
    {
        "n_samples", "latents", "models", "epochs", "final_epochs", "cv",
        "n_pairs", "da_epochs", "mmd_weights", "fixed_mmd_weights", "n_trees",
        "probe_repeats", "min_question_samples", "tsne_max",
    }
)  # fmt: skip


def _words(value):
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return "all" if value is None else str(value)


#: The names of StudyConfig's fields.
STUDY_FIELDS = frozenset(field.name for field in fields(StudyConfig))
