"""Domain adaptation DECaLS -> BASS+MzLS: the study's Table 4 and Fig. 5.

On the built-in simulator (:func:`skgalvae.datasets.make_survey_pairs`): the
same galaxies imaged by "decals" and "bass_mzls", split 70/30 by galaxy.

1. A :class:`~skgalvae.VAETransformer` is trained on DECaLS training images.
2. It is fine-tuned by :class:`~skgalvae.DomainAdaptedVAETransformer`
   (``init=FrozenEstimator(vae)``, the study's protocol) toward BASS+MzLS:
   *paired* (target rows are the same training galaxies) and *unpaired* (the
   target images are other galaxies, drawn with another seed).
3. On the test galaxies it reports the per-galaxy paired latent MSE (median,
   mean, and for galaxies with and without a bright star in the cutout), the
   latent MMD^2 between the surveys, and random-forest accuracy for each of the
   nine GZD-5 questions:

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

Run::

    python benchmarks/bench_domain_adaptation.py            # ~25 min on 2 CPUs
    python benchmarks/bench_domain_adaptation.py --quick    # ~2 min, a smoke run
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
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae.datasets import SURVEYS, load_gz_desi, make_survey_pairs
from skgalvae.labels import GZD5_QUESTIONS
from skgalvae.preprocessing import MTFStretch
from skgalvae.study import classify_questions, latent_shift

DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz_desi_1500"
QUESTIONS = list(GZD5_QUESTIONS)


def stretched(images):
    """Per-image midtone stretch: the raw nanomaggies span five decades."""
    return MTFStretch().fit_transform(images)


def vae_params(args, seed):
    return dict(
        n_latent=args.n_latent,
        hidden_dims=(32, 64),
        batch_size=args.batch_size,
        device=args.device,
        random_state=seed,
    )


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
    runs = [("paired", X_t[train], True, w) for w in args.mmd_weights] + [
        ("unpaired", X_u[train], False, w) for w in args.unpaired_weights
    ]
    for kind, target, paired, weight in runs:
        da = DomainAdaptedVAETransformer(
            max_epochs=args.da_epochs,
            mmd_weight=weight,
            paired=paired,
            init=FrozenEstimator(vae),
            **vae_params(args, seed),
        )
        start = time.perf_counter()
        da.fit(X_s[train], X_target=target)
        name = f"{kind} λ={weight:g}"
        timings[f"DA {name} fit_s"] = time.perf_counter() - start
        encoders[name] = da

    labels = decals.labels  # the truth is the galaxy's, whatever the survey
    shift, accuracy = {}, {}
    for name, enc in encoders.items():
        Z_s = enc.transform(X_s)
        Z_t = enc.transform(X_t)
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
    return shift, accuracy, timings


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
    for weight in args.real_mmd_weights:
        encoders[f"DA λ={weight:g}"] = DomainAdaptedVAETransformer(
            max_epochs=args.da_epochs, mmd_weight=weight, paired=True,
            init=FrozenEstimator(vae), **params,
        ).fit(X_s[train], X_target=X_t[train])  # fmt: skip
    result = {"blur_sigma_px": sigma, "noise": args.real_noise, "encoders": {}}
    for name, enc in encoders.items():
        Z_s, Z_t = enc.transform(X_s), enc.transform(X_t)
        rf = forest(seed).fit(Z_s[train], y[train])
        rf_t = forest(seed).fit(Z_t[train], y[train])
        shift = latent_shift(Z_s[test], Z_t[test])
        result["encoders"][name] = {
            "median_mse": shift["median_mse"],
            "relative_median_mse": shift["relative_median_mse"],
            "mmd2": shift["mmd2"],
            "acc_decals": accuracy_score(y[test], rf.predict(Z_s[test])),
            "acc_target_decals_rf": accuracy_score(y[test], rf.predict(Z_t[test])),
            "acc_target_retrained": accuracy_score(y[test], rf_t.predict(Z_t[test])),
        }
    return result


def print_tables(shift, accuracy, timings, args):
    names = list(accuracy)
    print(f"\n## Simulator, {args.n_galaxies} galaxies at {args.size}x{args.size}")
    print("| encoder | median latent MSE | / latent variance | mean | "
          "star / no star (median) | top-20 MSE with a star | MMD^2 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, s in shift.items():
        star = (
            f"{s['median_mse_star']:.4f}" if s["median_mse_star"] is not None else "-"
        )
        print(
            f"| {name} | {s['median_mse']:.4f} | {s['relative_median_mse']:.3f} | "
            f"{s['mean_mse']:.4f} | "
            f"{star} / {s['median_mse_no_star']:.4f} | "
            f"{s['top20_star_fraction']:.0%} | {s['mmd2']:.4f} |"
        )
    before = shift["before"]["median_mse"]
    for name in names[1:]:
        ratio = before / shift[name]["median_mse"]
        relative = (
            shift["before"]["relative_median_mse"] / shift[name]["relative_median_mse"]
        )
        print(
            f"median latent MSE, before / DA {name}: {ratio:.2f}x "
            f"({relative:.2f}x relative to the latent variance)"
        )
    print(f"\nencoders: {' / '.join(names)}")
    print("| question | DECaLS | BASS, DECaLS RF | BASS, RF retrained |")
    print("|---|---|---|---|")
    columns = ("decals", "bass_decals_rf", "bass_retrained")
    means = {
        n: {k: np.mean([accuracy[n][q][k] for q in QUESTIONS]) for k in columns}
        for n in names
    }
    for q, rows in [(q, {n: accuracy[n][q] for n in names}) for q in QUESTIONS] + [
        ("mean", means)
    ]:
        cells = [" / ".join(f"{rows[n][k]:.3f}" for n in names) for k in columns]
        print(f"| {q} | " + " | ".join(cells) + " |")
    print("\ntimings (s): " + ", ".join(f"{k}={v:.0f}" for k, v in timings.items()))


def _floats(text):
    return [float(x) for x in text.split(",") if x]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-galaxies", type=int, default=3000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-latent", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=30, help="VAE epochs")
    parser.add_argument("--da-epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--mmd-weights", type=_floats, default=[0.0, 0.5, 50.0, 500.0],
        help="mmd_weight of each paired run (comma-separated)",
    )  # fmt: skip
    parser.add_argument(
        "--unpaired-weights", type=_floats, default=[0.5, 500.0],
        help="mmd_weight of each unpaired run (comma-separated)",
    )  # fmt: skip
    parser.add_argument("--real-mmd-weights", type=_floats, default=[0.5, 500.0])
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
        args.mmd_weights = args.unpaired_weights = args.real_mmd_weights = [0.5]
    print(f"machine: {os.cpu_count()} CPUs; device={args.device}")
    start = time.perf_counter()
    shift, accuracy, timings = simulator_run(args, args.seed)
    print_tables(shift, accuracy, timings, args)
    results = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "timings": timings,
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
            "| encoder | median latent MSE | / latent variance | MMD^2 | acc source "
            "| acc target, source RF | acc target, RF retrained |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, r in real["encoders"].items():
            print(
                f"| {name} | {r['median_mse']:.4f} | {r['relative_median_mse']:.3f} | "
                f"{r['mmd2']:.4f} | "
                f"{r['acc_decals']:.3f} | {r['acc_target_decals_rf']:.3f} | "
                f"{r['acc_target_retrained']:.3f} |"
            )
    results["total_s"] = time.perf_counter() - start
    print(f"\ntotal: {results['total_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
