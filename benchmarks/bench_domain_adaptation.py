"""Domain adaptation DECaLS -> BASS+MzLS: the study's Table 4 and Fig. 5.

On the built-in simulator (:func:`skgalvae.datasets.make_survey_pairs`): the
same galaxies imaged by "decals" and "bass_mzls", split 70/30 by galaxy.

1. A :class:`~skgalvae.VAETransformer` (default settings) is trained on DECaLS
   training images.
2. It is fine-tuned by :class:`~skgalvae.DomainAdaptedVAETransformer`
   (``init=FrozenEstimator(vae)``, the study's protocol) toward BASS+MzLS, at
   the default settings (scale-free ``mmd_weight=1``) unless a run says
   otherwise: *paired* (target rows are the same training galaxies), paired
   with the per-galaxy consistency term, *unpaired* (the target images are
   other galaxies, drawn with another seed; MMD or CORAL alone), and the
   study's own fixed ``mmd_weight=0.5``; and *anchored* (``anchor="source"``:
   the DECaLS encoder and decoder fixed, BASS gets an encoder of its own;
   with MMD, cluster-wise MMD or, paired, the consistency term; or
   ``anchor="decoder"``, every decoder fixed; or ``anchor="latents"``, one
   encoder with the DECaLS latents held by a penalty). A ridge map from BASS to
   DECaLS latents fitted on the training pairs is the shallow baseline.
3. On the test galaxies it reports the per-galaxy paired latent MSE (median,
   mean, and for galaxies with and without a bright star in the cutout), the
   latent MMD^2 between the surveys, the domain AUC (a classifier telling the
   surveys apart; 0.5 is aligned), the gradient-norm ratio of the adaptation
   term to the VAE losses at the latent means (first and last measurement),
   and random-forest accuracy for each of the nine GZD-5 questions:

   - ``DECaLS``: RF trained and tested on DECaLS latents;
   - ``BASS, DECaLS RF``: that RF applied to BASS latents, the transfer DA is
     for;
   - ``BASS, RF retrained``: an RF trained 70/30 on BASS latents (the study's
     Table 4 protocol); before DA from the DECaLS encoder, after DA from the
     adapted one.

With ``--real PATH`` (default ``../shared/data/gz_desi_1500`` when present) it
also adapts on real galaxies. The target there is constructed: the same real
DECaLS colour cutouts blurred by a Gaussian of FWHM ``sqrt(1.61^2 - 1.29^2)``
arcsec (BASS's g-band seeing over DECaLS's, the simulator's survey values) at
the cutouts' 0.262 * 424 / size arcsec pixels, plus Gaussian noise of
``--real-noise`` (in 0-255 units). That is a PSF-and-noise shift of real
morphology, not real BASS data.

The real survey shift (SDSS <-> DECaLS, unpaired) is
``benchmarks/bench_transfer.py``.

Run::

    python benchmarks/bench_domain_adaptation.py            # hours on 2 CPUs
    python benchmarks/bench_domain_adaptation.py --quick    # minutes, a smoke run
    python benchmarks/bench_domain_adaptation.py --size 128 --runs paired,unpaired
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae.datasets import SURVEYS, load_gz_desi, make_survey_pairs
from skgalvae.labels import GZD5_QUESTIONS
from skgalvae.preprocessing import MTFStretch
from skgalvae.study import classify_questions, latent_shift
from skgalvae.utils._domains import survey_latents

DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz_desi_1500"
QUESTIONS = list(GZD5_QUESTIONS)
# Adaptation runs by name: whether the target is the same galaxies, and the
# estimator parameters that differ from the defaults.
SHARED = {"anchor": None, "adaptation": "mmd"}  # one encoder, the study's MMD
RUNS = {
    "paired": (True, SHARED),
    "paired mmd_weight=3": (True, {**SHARED, "mmd_weight": 3.0}),
    "paired+consistency": (True, {**SHARED, "paired_weight": 1.0}),
    "unpaired": (False, SHARED),
    "unpaired coral": (False, {"anchor": None, "adaptation": "coral"}),
    "paired study λ=0.5 fixed": (
        True,
        {**SHARED, "weighting": "fixed", "mmd_weight": 0.5},
    ),
    "paired anchored (default)": (True, {}),
    "paired anchored+consistency": (True, {"anchor": "source", "paired_weight": 1.0}),
    "unpaired anchored (default)": (False, {}),
    "unpaired anchored mmd": (False, {"anchor": "source", "adaptation": "mmd"}),
    "unpaired anchored coral": (False, {"anchor": "source", "adaptation": "coral"}),
    "unpaired decoder-anchored": (False, {"anchor": "decoder"}),
    "paired latent-anchored": (True, {"anchor": "latents"}),
    "unpaired latent-anchored": (False, {"anchor": "latents"}),
}


def stretched(images):
    """Per-image midtone stretch: the raw nanomaggies span five decades."""
    return MTFStretch().fit_transform(images)


def vae_params(args, seed):
    return dict(
        n_latent=args.n_latent,
        batch_size=args.batch_size,
        device=args.device,
        random_state=seed,
    )


def grad_ratios(da):
    """First and last measured adaptation / VAE gradient-norm ratio of a fit."""
    ratios = [b["train_grad_ratio"] for epoch in da.history_ for b in epoch["batches"]]
    return {"grad_ratio_first": ratios[0], "grad_ratio_last": ratios[-1]}


def forest(seed):
    return RandomForestClassifier(n_estimators=200, n_jobs=-1, random_state=seed)


def question_accuracies(Z_train, Z_test, labels_train, labels_test, seed):
    """Accuracy of an RF per question, trained on Z_train, tested on Z_test.

    ``Z_test`` is a dict of test latents (same galaxies, other surveys or
    encoders); the same RF scores each.
    """
    results = classify_questions(
        Z_train, labels_train, Z_test, labels_test, QUESTIONS,
        n_trees=200, min_samples=1, random_state=seed,
    )  # fmt: skip
    return {
        q: {name: s["accuracy"] for name, s in entry["scores"].items()}
        for q, entry in results.items()
    }


def simulator_run(args, seed):
    n = args.n_galaxies
    decals, bass = make_survey_pairs(n, image_size=args.size, random_state=seed)
    # Other galaxies in BASS+MzLS, for the unpaired runs.
    _, bass_other = make_survey_pairs(n, image_size=args.size, random_state=seed + 1000)
    # The same galaxies at a second DECaLS visit: the noise floor of the MSE.
    _, revisit = make_survey_pairs(
        n, image_size=args.size, target="decals", random_state=seed
    )
    X_s, X_t, X_u, X_r = (
        stretched(decals.images),
        stretched(bass.images),
        stretched(bass_other.images),
        stretched(revisit.images),
    )
    star = decals.params["star"].to_numpy(bool)
    train, test = train_test_split(np.arange(n), test_size=0.3, random_state=seed)

    timings = {}
    start = time.perf_counter()
    vae = VAETransformer(max_epochs=args.epochs, **vae_params(args, seed)).fit(
        X_s[train]
    )
    timings["vae_fit_s"] = time.perf_counter() - start

    encoders = {"before": vae}
    diagnostics = {}
    for name in args.runs:
        paired, params = RUNS[name]
        da = DomainAdaptedVAETransformer(
            max_epochs=args.da_epochs,
            paired=paired,
            init=FrozenEstimator(vae),
            **{**vae_params(args, seed), **params},
        )
        start = time.perf_counter()
        da.fit(X_s[train], X_target=X_t[train] if paired else X_u[train])
        timings[f"DA {name} fit_s"] = time.perf_counter() - start
        diagnostics[name] = {
            **grad_ratios(da),
            "adaptation_weight": da.adaptation_weight_,
        }
        encoders[name] = da

    latents = {
        name: (survey_latents(enc, X_s, "source"), survey_latents(enc, X_t, "target"))
        for name, enc in encoders.items()
    }
    # A shallow baseline for paired data: a ridge map from the target's latents
    # to the source's, fitted on the training pairs.
    Z_s, Z_t = latents["before"]
    ridge = Ridge(alpha=1.0).fit(Z_t[train], Z_s[train])
    latents["ridge map (paired)"] = (Z_s, ridge.predict(Z_t).astype(np.float32))
    labels = decals.labels  # the truth is the galaxy's, whatever the survey
    shift, accuracy = {}, {}
    for name, (Z_s, Z_t) in latents.items():
        shift[name] = latent_shift(Z_s[test], Z_t[test], star[test])
        transfer = question_accuracies(
            Z_s[train], {"decals": Z_s[test], "bass_decals_rf": Z_t[test]},
            labels.iloc[train], labels.iloc[test], seed,
        )  # fmt: skip
        retrained = question_accuracies(
            Z_t[train], {"bass_retrained": Z_t[test]},
            labels.iloc[train], labels.iloc[test], seed,
        )  # fmt: skip
        accuracy[name] = {q: {**transfer[q], **retrained[q]} for q in QUESTIONS}
    shift["floor: DECaLS revisit, before"] = latent_shift(
        vae.transform(X_s[test]), vae.transform(X_r[test]), star[test]
    )
    return shift, accuracy, timings, diagnostics


def blurred_and_noisy(images, size, noise, rng):
    """The constructed BASS-like view of real colour cutouts (see the docstring)."""
    decals, bass = SURVEYS["decals"], SURVEYS["bass_mzls"]
    extra_fwhm = np.sqrt(bass.seeing_fwhm[0] ** 2 - decals.seeing_fwhm[0] ** 2)  # g
    pixel = 0.262 * 424 / size  # arcsec per pixel of the resampled cutout
    sigma = extra_fwhm / pixel / 2.3548
    out = gaussian_filter(images.astype(np.float32), sigma=(0, 0, sigma, sigma))
    out += rng.normal(0.0, noise, size=out.shape).astype(np.float32)
    return np.clip(out, 0, 255), float(sigma)


def real_run(args, seed):
    data = load_gz_desi(args.real, image_size=args.size)
    rng = np.random.default_rng(seed)
    X_s = data.images.astype(np.float32)
    X_t, sigma = blurred_and_noisy(data.images, args.size, args.real_noise, rng)
    y = data.labels["gz1_class"].astype(str).to_numpy()
    train, test = train_test_split(
        np.arange(len(y)), test_size=0.3, random_state=seed, stratify=y
    )
    params = {**vae_params(args, seed), "pixel_scale": 255.0}
    vae = VAETransformer(max_epochs=args.epochs, **params).fit(X_s[train])
    encoders = {"before": vae}
    for name in args.real_runs:
        paired, run_params = RUNS[name]
        if not paired:
            continue  # the constructed target is the same galaxies
        encoders[name] = DomainAdaptedVAETransformer(
            max_epochs=args.da_epochs, paired=True, init=FrozenEstimator(vae),
            **{**params, **run_params},
        ).fit(X_s[train], X_target=X_t[train])  # fmt: skip
    result = {"blur_sigma_px": sigma, "noise": args.real_noise, "encoders": {}}
    for name, enc in encoders.items():
        Z_s, Z_t = (
            survey_latents(enc, X_s, "source"),
            survey_latents(enc, X_t, "target"),
        )
        rf = forest(seed).fit(Z_s[train], y[train])
        rf_t = forest(seed).fit(Z_t[train], y[train])
        shift = latent_shift(Z_s[test], Z_t[test])
        result["encoders"][name] = {
            "median_mse": shift["median_mse"],
            "relative_median_mse": shift["relative_median_mse"],
            "mmd2": shift["mmd2"],
            "domain_auc": shift["domain_auc"],
            "acc_decals": accuracy_score(y[test], rf.predict(Z_s[test])),
            "acc_target_decals_rf": accuracy_score(y[test], rf.predict(Z_t[test])),
            "acc_target_retrained": accuracy_score(y[test], rf_t.predict(Z_t[test])),
        }
    return result


def transfer_summary(accuracy, name):
    """How much of the DECaLS -> BASS drop an encoder recovers, over the questions.

    ``recovered``: (BASS accuracy of the DECaLS forest after DA - before) /
    (DECaLS accuracy before - BASS accuracy before), from the means over the
    questions; ``worst_decals_loss``: the largest drop of DECaLS accuracy of
    any question, after DA against before.
    """
    mean = {
        encoder: {
            k: np.mean([accuracy[encoder][q][k] for q in QUESTIONS])
            for k in ("decals", "bass_decals_rf")
        }
        for encoder in ("before", name)
    }
    drop = mean["before"]["decals"] - mean["before"]["bass_decals_rf"]
    gain = mean[name]["bass_decals_rf"] - mean["before"]["bass_decals_rf"]
    worst = max(
        accuracy["before"][q]["decals"] - accuracy[name][q]["decals"] for q in QUESTIONS
    )
    return {
        "drop_before": drop,
        "recovered": gain / drop if drop > 0 else float("nan"),
        "worst_decals_loss": worst,
    }


def print_tables(shift, accuracy, timings, diagnostics, args):
    names = list(accuracy)
    print(f"\n## Simulator, {args.n_galaxies} galaxies at {args.size}x{args.size}")
    print("| encoder | median latent MSE | / latent variance | before / this "
          "(relative) | star / no star (median) | MMD^2 | domain AUC |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    before = shift["before"]["relative_median_mse"]
    for name, s in shift.items():
        star = (
            f"{s['median_mse_star']:.4f}" if s["median_mse_star"] is not None else "-"
        )
        print(
            f"| {name} | {s['median_mse']:.4f} | {s['relative_median_mse']:.4f} | "
            f"{before / s['relative_median_mse']:.2f}x | "
            f"{star} / {s['median_mse_no_star']:.4f} | {s['mmd2']:.4f} | "
            f"{s['domain_auc']:.3f} |"
        )
    print("\n| run | grad ratio, first -> last | weight in the study's units |")
    print("|---|---|---|")
    for name, d in diagnostics.items():
        print(
            f"| {name} | {d['grad_ratio_first']:.3g} -> {d['grad_ratio_last']:.3g} | "
            f"{d['adaptation_weight']:.3g} |"
        )
    print("\n| encoder | mean DECaLS | mean BASS, DECaLS RF | mean BASS, RF retrained "
          "| drop recovered | worst DECaLS loss |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    columns = ("decals", "bass_decals_rf", "bass_retrained")
    for name in names:
        means = [np.mean([accuracy[name][q][k] for q in QUESTIONS]) for k in columns]
        summary = transfer_summary(accuracy, name) if name != "before" else None
        extra = (
            f"{summary['recovered']:.0%} | {summary['worst_decals_loss']:+.3f}"
            if summary
            else "- | -"
        )
        print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in means) + f" | {extra} |")
    print(f"\nper question, encoders: {' / '.join(names)}")
    print("| question | DECaLS | BASS, DECaLS RF | BASS, RF retrained |")
    print("|---|---|---|---|")
    for q in QUESTIONS:
        cells = [" / ".join(f"{accuracy[n][q][k]:.3f}" for n in names) for k in columns]
        print(f"| {q} | " + " | ".join(cells) + " |")
    print("\ntimings (s): " + ", ".join(f"{k}={v:.0f}" for k, v in timings.items()))


def _names(text):
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in names if x not in RUNS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown runs {unknown}; known: {list(RUNS)}")
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-galaxies", type=int, default=3000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-latent", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=30, help="VAE epochs")
    parser.add_argument("--da-epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--runs", type=_names, default=None,
        help=f"adaptation runs, comma-separated, of: {'; '.join(RUNS)}",
    )  # fmt: skip
    parser.add_argument(
        "--real-runs", type=_names,
        default=["paired", "paired+consistency", "paired study λ=0.5 fixed"],
        help="paired runs on the real cutouts",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--real-noise", type=float, default=4.0)
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run")
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_galaxies, args.epochs, args.da_epochs = 300, 3, 2
        args.runs = args.runs or ["paired", "unpaired"]
        args.real_runs = ["paired"]
    args.runs = args.runs or list(RUNS)
    print(f"machine: {os.cpu_count()} CPUs; device={args.device}")
    start = time.perf_counter()
    shift, accuracy, timings, diagnostics = simulator_run(args, args.seed)
    print_tables(shift, accuracy, timings, diagnostics, args)
    results = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "timings": timings,
        "diagnostics": diagnostics,
        "transfer": {n: transfer_summary(accuracy, n) for n in list(accuracy)[1:]},
        "shift": {
            n: {k: v for k, v in s.items() if k != "mse"} for n, s in shift.items()
        },
        "accuracy": accuracy,
    }
    if not args.no_real and args.real.exists():
        real = real_run(args, args.seed)
        results["real"] = real
        print(
            f"\n## Real gz_desi_1500 at {args.size}x{args.size}, target = blur "
            f"sigma {real['blur_sigma_px']:.2f} px + noise {real['noise']}/255"
        )
        print(
            "| encoder | median latent MSE | / latent variance | MMD^2 | domain AUC "
            "| acc source | acc target, source RF | acc target, RF retrained |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, r in real["encoders"].items():
            print(
                f"| {name} | {r['median_mse']:.4f} | {r['relative_median_mse']:.4f} | "
                f"{r['mmd2']:.4f} | {r['domain_auc']:.3f} | "
                f"{r['acc_decals']:.3f} | {r['acc_target_decals_rf']:.3f} | "
                f"{r['acc_target_retrained']:.3f} |"
            )
    results["total_s"] = time.perf_counter() - start
    print(f"\ntotal: {results['total_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
