"""``skgalvae study``: reproduce Xu et al. (2023) end to end and write a report."""

from __future__ import annotations

import logging

from ._common import (
    UsageError,
    check_device,
    check_output_directory,
    float_list,
    int_list,
    positive_int,
)

__all__ = ["add_parser", "config_from_args", "read_config_file", "run"]

logger = logging.getLogger("skgalvae.cli")


def _default(field, unit=""):
    """Say a StudyConfig field's default (and its --quick value, if other)."""
    from ..study import StudyConfig

    def shown(value):
        if isinstance(value, tuple):
            return ",".join(map(str, value))
        return f"{value}{unit}"

    default = getattr(StudyConfig(), field)
    quick = getattr(StudyConfig.quick(), field)
    text = f"default {shown(default)}"
    if quick != default:
        text += f"; --quick: {shown(quick)}"
    return f"({text})"


def add_parser(commands) -> None:
    """Add the ``study`` sub-command to ``commands`` (argparse subparsers)."""
    study = commands.add_parser(
        "study",
        help="reproduce Xu et al. (2023) end to end and write a report",
        description=(
            "Reproduce Xu et al. (2023, MNRAS 526, 6391) end to end: the latent "
            "dimension by SSIM, random forests on latents per GZD-5 question, "
            "domain adaptation DECaLS -> BASS+MzLS, 8-sigma latent outliers, and "
            "pictures. Writes report.md, report.html, results.json, PNG figures "
            "and the chosen model.joblib to --out. Stages are cached in "
            "OUT/cache: a re-run redoes only what changed. Settings come from "
            "the defaults, then --config, then the flags given."
        ),
    )
    source = study.add_mutually_exclusive_group()
    source.add_argument(
        "--data",
        choices=["builtin"],
        default="builtin",
        help="the built-in galaxy simulator (default)",
    )
    source.add_argument(
        "--gz-desi",
        metavar="DIR",
        help="a Galaxy Zoo DESI directory (images.npz + catalog.csv): spiral vs "
        "elliptical vs uncertain from Galaxy Zoo 1",
    )
    source.add_argument(
        "--gz-decals",
        metavar="DIR",
        nargs="?",
        const="",
        help="Galaxy Zoo DECaLS DR5 cutouts and votes, all nine questions: "
        "downloaded once (several GB) into DIR, default $SKGALVAE_DATA or "
        "~/skgalvae_data",
    )
    source.add_argument(
        "--fits-list",
        metavar="FILE",
        help="a text file with one FITS cutout path per line (relative to the "
        "file); needs --catalog",
    )
    study.add_argument(
        "--catalog",
        metavar="CAT",
        help="GZD-5 vote fractions (CSV or FITS table), row i for file i of "
        "--fits-list",
    )
    study.add_argument(
        "--config",
        metavar="FILE.toml",
        help="settings in TOML: any StudyConfig field (n_samples = 1000, latents "
        "= [10, 20, 40], ...) and out; flags given on the command line win",
    )
    study.add_argument("--out", help="report directory (default report)")
    study.add_argument(
        "--image-size", type=positive_int, help=f"pixels {_default('image_size')}"
    )
    study.add_argument(
        "--n-samples",
        type=positive_int,
        help=f"number of galaxies {_default('n_samples')}; real data sets are "
        "used whole unless given",
    )
    study.add_argument(
        "--latents",
        type=int_list,
        help=f"candidate n_latent {_default('latents')}; the paper's grid for "
        "256x256 cutouts is 10,20,40,60,80,100",
    )
    study.add_argument(
        "--models",
        type=lambda text: tuple(part.strip() for part in text.split(",")),
        help="VAEs searched side by side, the first picks the model: skgalvae "
        "(the package's default), pose-free (the same with pose-free latents), "
        "xu2023 (the paper's exact model), xu2023-mae "
        f"{_default('models')}",
    )
    study.add_argument(
        "--paper-model",
        action="store_true",
        help="the paper's exact model only (same as --models xu2023)",
    )
    study.add_argument(
        "--epochs",
        type=positive_int,
        help=f"epochs per VAE fit of the search {_default('epochs')}",
    )
    study.add_argument(
        "--final-epochs",
        type=positive_int,
        help=f"epochs of the chosen model's fit {_default('final_epochs')}",
    )
    study.add_argument(
        "--cv", type=positive_int, help=f"CV splits of the search {_default('cv')}"
    )
    study.add_argument(
        "--n-pairs",
        type=positive_int,
        help=f"survey pairs for domain adaptation {_default('n_pairs')}",
    )
    study.add_argument(
        "--probe-repeats",
        type=positive_int,
        help="repeats of the 5 folds over which three probes judge the latents "
        f"against PCA {_default('probe_repeats')}",
    )
    study.add_argument(
        "--mmd-weights",
        type=float_list,
        help="scale-free mmd_weight values of domain adaptation, e.g. 0.5,1,2 "
        f"{_default('mmd_weights')}",
    )
    study.add_argument(
        "--device", default=None, help="auto, cpu, cuda or cuda:N (default auto)"
    )
    study.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: every stage, about 70 s on 2 CPU cores",
    )
    study.add_argument("--seed", type=int, help=f"random seed {_default('seed')}")
    study.add_argument("--no-cache", action="store_true", help="recompute every stage")
    study.add_argument(
        "--quiet",
        action="store_true",
        help="print errors only: no progress, no messages",
    )
    study.set_defaults(
        run=run, interrupted="finished stages are cached, so a re-run resumes"
    )


def read_config_file(path):
    """Read a study's settings from a TOML file: StudyConfig fields and ``out``.

    Raises
    ------
    UsageError
        If the file is missing, not TOML, or holds an unknown setting.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from ..study._config import STUDY_FIELDS

    try:
        with open(path, "rb") as handle:
            settings = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"--config {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--config {path} is not valid TOML: {exc}.") from None
    unknown = sorted(set(settings) - STUDY_FIELDS - {"out", "quick"})
    if unknown:
        raise UsageError(
            f"--config {path} has unknown setting(s) {', '.join(unknown)}; use "
            f"StudyConfig's fields ({', '.join(sorted(STUDY_FIELDS))}), out or "
            f"quick."
        )
    if not isinstance(settings.get("quick", False), bool):
        raise UsageError(
            f"--config {path}: quick must be true or false (a TOML boolean); got "
            f"{settings['quick']!r}."
        )
    return {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}


def config_from_args(args):
    """Make a :class:`~skgalvae.study.StudyConfig` from parsed arguments.

    Settings come from the defaults (or ``--quick``'s sizes), then the
    ``--config`` file, then the flags given; ``args.out`` is resolved too.
    """
    from ..study import StudyConfig

    if args.fits_list and not args.catalog:
        raise ValueError("--fits-list needs --catalog (GZD-5 vote fractions).")
    if args.catalog and not args.fits_list:
        raise ValueError("--catalog goes with --fits-list.")
    if args.paper_model and args.models:
        raise ValueError("--paper-model and --models exclude each other.")
    settings = read_config_file(args.config) if args.config else {}
    quick = args.quick or settings.pop("quick", False)
    out = settings.pop("out", "report")
    args.out = args.out if args.out is not None else out
    flags = {
        "models": ("xu2023",) if args.paper_model else args.models,
        "image_size": args.image_size,
        "n_samples": args.n_samples,
        "latents": args.latents,
        "epochs": args.epochs,
        "final_epochs": args.final_epochs,
        "cv": args.cv,
        "n_pairs": args.n_pairs,
        "probe_repeats": args.probe_repeats,
        "mmd_weights": args.mmd_weights,
        "device": args.device,
        "seed": args.seed,
    }
    overrides = {**settings, **{k: v for k, v in flags.items() if v is not None}}
    if args.gz_desi:
        overrides.update(data="gz_desi", data_path=args.gz_desi)
    elif args.gz_decals is not None:
        overrides.update(data="gz_decals", data_path=args.gz_decals or None)
    elif args.fits_list:
        overrides.update(
            data="fits", data_path=args.fits_list, catalog_path=args.catalog
        )
    if overrides.get("data", "builtin") != "builtin":
        # Real data sets are used whole unless told otherwise.
        overrides.setdefault("n_samples", 300 if quick else None)
    try:
        if quick:
            return StudyConfig.quick(**overrides)
        return StudyConfig(**overrides)
    except TypeError as exc:  # a setting of the wrong kind in the file
        raise ValueError(f"--config {args.config}: {exc}") from None


def run(args) -> int:
    """Run ``skgalvae study`` from parsed arguments; log where the report is."""
    from ..exceptions import OutputLockedError, StudyInputError
    from ..study import run_study

    try:
        config = config_from_args(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_device(config.device)
    check_output_directory(args.out)
    try:
        results = run_study(config, args.out, cache=not args.no_cache)
    except (StudyInputError, OutputLockedError) as exc:
        # The user's to fix; other failures are bugs: shown in full.
        raise UsageError(str(exc)) from None
    logger.info(
        "wrote %s and %s in %.0f s",
        results["files"]["markdown"],
        results["files"]["html"],
        sum(results["timings_s"].values()),
    )
    return 0
