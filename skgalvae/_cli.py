"""The ``skgalvae`` command line: ``skgalvae study`` runs the main job.

``skgalvae encode`` streams a survey through a fitted model into a latent
table (:func:`skgalvae.survey.encode_survey`); ``skgalvae neighbours`` finds
the galaxies most like given ones in such a table
(:func:`skgalvae.inspection.similar_galaxies`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ._cli_common import (
    SOURCE_HELP,
    UsageError,
    check_device,
    check_output_directory,
    load_model,
)
from ._cli_neighbours import add_neighbours_parser, run_neighbours

__all__ = ["main"]

logger = logging.getLogger("skgalvae.cli")


def _int_list(text):
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, e.g. 10,20,40; got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers; got {text!r}")
    return values


def _float_list(text):
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, e.g. 0.5,500; got {text!r}"
        ) from None


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number >= 1; got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {value}")
    return value


def _default(field, unit=""):
    """Say a StudyConfig field's default (and its --quick value, if other)."""
    from .study import StudyConfig

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


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``skgalvae`` command."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="skgalvae",
        description="scikit-learn compatible VAEs for galaxy images.",
    )
    parser.add_argument(
        "--version", action="version", version=f"skgalvae {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
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
        "--image-size", type=_positive_int, help=f"pixels {_default('image_size')}"
    )
    study.add_argument(
        "--n-samples",
        type=_positive_int,
        help=f"number of galaxies {_default('n_samples')}; real data sets are "
        "used whole unless given",
    )
    study.add_argument(
        "--latents",
        type=_int_list,
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
        type=_positive_int,
        help=f"epochs per VAE fit of the search {_default('epochs')}",
    )
    study.add_argument(
        "--final-epochs",
        type=_positive_int,
        help=f"epochs of the chosen model's fit {_default('final_epochs')}",
    )
    study.add_argument(
        "--cv", type=_positive_int, help=f"CV splits of the search {_default('cv')}"
    )
    study.add_argument(
        "--n-pairs",
        type=_positive_int,
        help=f"survey pairs for domain adaptation {_default('n_pairs')}",
    )
    study.add_argument(
        "--probe-repeats",
        type=_positive_int,
        help="repeats of the 5 folds over which three probes judge the latents "
        f"against PCA {_default('probe_repeats')}",
    )
    study.add_argument(
        "--mmd-weights",
        type=_float_list,
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
    _add_encode_parser(commands)
    add_neighbours_parser(commands, _positive_int)
    return parser


def _add_encode_parser(commands):
    encode = commands.add_parser(
        "encode",
        help="encode a survey into a latent table on disk, resumably",
        description=(
            "Encode every image of SOURCE with the fitted model in MODEL (a "
            "joblib file of a VAE or a Pipeline ending in one) into OUTPUT (a "
            ".zarr group or .parquet directory), chunk by chunk with bounded "
            "memory. Run the same command again to resume an interrupted run. "
            "Rows that cannot be read keep NaN latents and are listed by id."
        ),
    )
    encode.add_argument(
        "model", help="the fitted model: a joblib file or a save_pretrained directory"
    )
    encode.add_argument("source", help=SOURCE_HELP)
    encode.add_argument("output", help="latents.zarr or latents.parquet")
    encode.add_argument("--key", help="the image array inside the store")
    encode.add_argument("--ids", help="an id array inside the store")
    encode.add_argument(
        "--batch-size", type=_positive_int, help="rows per chunk (default 4096)"
    )
    encode.add_argument("--std", action="store_true", help="also write the sigmas")
    encode.add_argument(
        "--overwrite", action="store_true", help="start again instead of resuming"
    )
    encode.add_argument("--quiet", action="store_true", help="no progress bar")


def run_encode(args) -> int:
    """Run ``skgalvae encode`` from parsed arguments; print the summary."""
    from .survey import encode_survey

    model = load_model(args.model)
    parent = os.path.dirname(os.path.abspath(args.output))
    check_output_directory(parent, option="OUTPUT's directory")
    summary = encode_survey(
        model,
        args.source,
        args.output,
        key=args.key,
        ids=args.ids,
        batch_size=args.batch_size,
        std=args.std,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(summary, file=sys.stderr)
    return 0


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

    from .study._config import STUDY_FIELDS

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
    from .study import StudyConfig

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


def main(argv=None) -> int:
    """Run the ``skgalvae`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    int
        0 on success.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"skgalvae {args.command}"
    # Imported after parsing: --help and --version never load torch.
    from .exceptions import OutputLockedError, StudyInputError

    quiet = getattr(args, "quiet", False)
    _configure_logging(quiet)
    try:
        if args.command in ("encode", "neighbours"):
            run = run_encode if args.command == "encode" else run_neighbours
            try:
                return run(args)
            except (
                ValueError,
                KeyError,
                TypeError,
                OSError,
                OutputLockedError,
            ) as exc:  # the survey, its ids or the output: the user's to fix
                raise UsageError(str(exc)) from None
        try:
            config = config_from_args(args)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        check_device(config.device)
        check_output_directory(args.out)
        from .study import run_study

        try:
            results = run_study(config, args.out, cache=not args.no_cache)
        except (StudyInputError, OutputLockedError) as exc:
            # The user's to fix; other failures are bugs: shown in full.
            raise UsageError(str(exc)) from None
    except UsageError as exc:
        parser.exit(2, f"{prog}: error: {exc}\n")
    except KeyboardInterrupt as exc:
        done = "; finished stages are cached, so a re-run resumes" * (
            args.command == "study"
        )
        parser.exit(130, f"{prog}: interrupted{done}. {exc}\n")
    logger.info(
        "wrote %s and %s in %.0f s",
        results["files"]["markdown"],
        results["files"]["html"],
        sum(results["timings_s"].values()),
    )
    return 0


def _configure_logging(quiet):
    """Send skgalvae's messages to stderr, unless the caller routed them already.

    With ``quiet`` only warnings and errors are shown; progress follows the
    same level (:mod:`skgalvae._progress`).
    """
    package = logging.getLogger("skgalvae")
    package.setLevel(logging.WARNING if quiet else logging.INFO)
    if not package.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        package.addHandler(handler)
