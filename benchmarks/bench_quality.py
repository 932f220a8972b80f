"""What the latents capture: the VAE against the study's network and PCA.

One run, the same splits, side by side, at 64x64 on the CPU:

- ``skgalvae``: ``VAETransformer()``'s defaults (residual network, calibrated
  Gaussian likelihood, cosine learning-rate decay, dihedral augmentation);
- ``pose-free``: the same with ``invariance="dihedral"`` (its test
  reconstructions are compared in the matched pose, as ``reconstruct``
  returns them);
- ``xu2023``: the study's exact model, ``architecture="xu2023",
  likelihood="sse", lr_schedule="constant", augment=None`` (a 4x4 last map
  at 64x64);
- ``pca``: PCA with as many components, the linear optimum of the
  reconstruction error.

On two data sets: real Galaxy Zoo DESI cutouts (``gz``, from
``../shared/data/gz_desi_1500`` or ``--data``) and ``--n-sim`` simulated
DECaLS galaxies (``sim``, midtone-stretched as in the study). Each is split
70/30 (stratified by class), per seed. For every ``n_latent``:

- **test MSE** per value and its ratio to PCA's;
- **SSIM** of test reconstructions, and the knee that the study's rule picks
  on the SSIM curve;
- **active latents**, ``Var_x E[z_j] > 0.01`` (PCA counts all);
- **random forests** (300 trees) on the latents: spiral vs elliptical and the
  3-way Galaxy Zoo 1 class (``gz``), the first-level GZD-5 class (``sim``);
- **artefacts**: the periodic power of the mean test residual at periods of
  2, 4 and 8 px (:func:`skgalvae.metrics.periodic_artifact_power`; ~1 is
  clean) and the per-band mean flux ratio of reconstructions.

Usage::

    python benchmarks/bench_quality.py                      # everything
    python benchmarks/bench_quality.py --datasets gz --n-latent 40 --seeds 0

Writes a Markdown table to stdout and all numbers to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from skgalvae import VAETransformer
from skgalvae.datasets import load_gz_desi, make_galaxies
from skgalvae.labels import first_level_classes
from skgalvae.metrics import band_flux_ratio, periodic_artifact_power, ssim
from skgalvae.model_selection import find_knee
from skgalvae.preprocessing import MTFStretch

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gz_desi_1500"
MODELS = ("skgalvae", "pose-free", "xu2023", "pca")


def load(name, args):
    """Return images in [0, 1] (float32) and a dict of label arrays."""
    if name == "gz":
        data = load_gz_desi(args.data, image_size=args.size)
        X = data.images.astype(np.float32) / 255.0
        gz1 = data.labels["gz1_class"].astype(str).to_numpy()
        tasks = {
            "spiral_vs_elliptical": np.where(
                np.isin(gz1, ["spiral", "elliptical"]), gz1, None
            ),
            "gz1_3way": gz1,
        }
        return X, tasks, gz1
    data = make_galaxies(args.n_sim, image_size=args.size, random_state=0)
    X = MTFStretch().fit_transform(data.images).astype(np.float32)
    classes = first_level_classes(data.labels).to_numpy()
    tasks = {"first_level": np.where(classes == "uncertain", None, classes)}
    return X, tasks, classes


def make_vae(model, n_latent, args, seed):
    common = dict(
        n_latent=n_latent,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
        random_state=seed,
    )
    if model == "skgalvae":
        return VAETransformer(**common)
    if model == "pose-free":
        return VAETransformer(invariance="dihedral", **common)
    return VAETransformer(
        architecture="xu2023",
        likelihood="sse",
        lr_schedule="constant",
        augment=None,
        **common,
    )


def fit_model(model, n_latent, X_train, X_test, args, seed):
    """Fit one model; return test latents, train latents, reconstructions, info."""
    start = time.perf_counter()
    if model == "pca":
        pca = PCA(n_latent, random_state=seed).fit(X_train.reshape(len(X_train), -1))
        Z_train = pca.transform(X_train.reshape(len(X_train), -1))
        Z_test = pca.transform(X_test.reshape(len(X_test), -1))
        X_hat = pca.inverse_transform(Z_test).reshape(X_test.shape)
        info = {"active": n_latent, "epochs": 0}
    else:
        vae = make_vae(model, n_latent, args, seed).fit(X_train)
        Z_train, Z_test = vae.transform(X_train), vae.transform(X_test)
        X_hat = vae.reconstruct(X_test)
        info = {"active": vae.n_active_latents_, "epochs": len(vae.history_)}
    info["seconds"] = time.perf_counter() - start
    return Z_train, Z_test, X_hat.astype(np.float32), info


def forest_accuracy(Z_train, Z_test, y_train, y_test, seed):
    train, test = y_train != None, y_test != None  # noqa: E711 (object arrays)
    forest = RandomForestClassifier(300, n_jobs=-1, random_state=seed)
    forest.fit(Z_train[train], y_train[train].astype(str))
    return float((forest.predict(Z_test[test]) == y_test[test].astype(str)).mean())


def run(args):
    rows = []
    for dataset in args.datasets:
        X, tasks, strata = load(dataset, args)
        print(f"# {dataset}: {X.shape}, CPUs {os.cpu_count()}", flush=True)
        for seed in args.seeds:
            split = train_test_split(
                np.arange(len(X)), test_size=0.3, stratify=strata, random_state=seed
            )
            train, test = (np.sort(s) for s in split)
            torch.manual_seed(seed)
            for n_latent in args.n_latent:
                for model in args.models:
                    Z_train, Z_test, X_hat, info = fit_model(
                        model, n_latent, X[train], X[test], args, seed
                    )
                    x_test = X[test]
                    row = {
                        "dataset": dataset,
                        "seed": seed,
                        "n_latent": n_latent,
                        "model": model,
                        "test_mse": float(np.mean((X_hat - x_test) ** 2)),
                        "ssim": float(ssim(x_test, X_hat, data_range=1.0).mean()),
                        "artifact_power": periodic_artifact_power(x_test, X_hat),
                        "flux_ratio": band_flux_ratio(x_test, X_hat).tolist(),
                        **info,
                    }
                    for task, y in tasks.items():
                        row[task] = forest_accuracy(
                            Z_train, Z_test, y[train], y[test], seed
                        )
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows


def summarise(rows):
    """Average over seeds; add ratios to PCA and the SSIM knee per model."""
    keys = sorted({(r["dataset"], r["n_latent"], r["model"]) for r in rows})
    table = []
    for dataset, n_latent, model in keys:
        runs = [
            r
            for r in rows
            if (r["dataset"], r["n_latent"], r["model"]) == (dataset, n_latent, model)
        ]
        entry = {"dataset": dataset, "n_latent": n_latent, "model": model}
        for key in runs[0]:
            values = [r[key] for r in runs]
            if key == "artifact_power":
                entry[key] = max(max(v.values()) for v in values)
            elif key == "flux_ratio":
                entry["flux_error"] = float(np.max(np.abs(np.array(values) - 1)))
            elif isinstance(values[0], (int, float)) and key not in (
                "seed",
                "n_latent",
            ):
                entry[key] = float(np.mean(values))
        table.append(entry)
    for entry in table:
        pca = (
            next(
                e
                for e in table
                if e["model"] == "pca"
                and (e["dataset"], e["n_latent"])
                == (entry["dataset"], entry["n_latent"])
            )
            if "pca" in {e["model"] for e in table}
            else None
        )
        if pca is not None:
            entry["mse_over_pca"] = entry["test_mse"] / pca["test_mse"]
    knees = {}
    for dataset in {e["dataset"] for e in table}:
        for model in {e["model"] for e in table}:
            curve = [e for e in table if (e["dataset"], e["model"]) == (dataset, model)]
            if len(curve) >= 3:
                n = [e["n_latent"] for e in curve]
                knees[f"{dataset}/{model}"] = n[
                    find_knee(n, [e["ssim"] for e in curve])
                ]
    return table, knees


def markdown(table, knees):
    tasks = [
        t
        for t in ("spiral_vs_elliptical", "gz1_3way", "first_level")
        if any(t in e for e in table)
    ]
    head = (
        ["data", "n_latent", "model", "test MSE", "/ PCA", "SSIM", "active"]
        + tasks
        + ["grid power", "flux err", "s/fit"]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in table:
        cells = [
            e["dataset"],
            str(e["n_latent"]),
            e["model"],
            f"{e['test_mse']:.5f}",
            f"{e.get('mse_over_pca', float('nan')):.2f}",
            f"{e['ssim']:.3f}",
            f"{e['active']:.0f}/{e['n_latent']}",
            *[f"{e[t]:.3f}" if t in e else "" for t in tasks],
            f"{e['artifact_power']:.1f}",
            f"{100 * e['flux_error']:.1f}%",
            f"{e['seconds']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- SSIM knee {key}: n_latent = {value}" for key, value in knees.items()]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--datasets", nargs="+", default=["gz", "sim"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--n-latent", type=int, nargs="+", default=[4, 8, 16, 40])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-sim", type=int, default=3000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="write every run and the summary here")
    args = parser.parse_args(argv)
    rows = run(args)
    table, knees = summarise(rows)
    print(markdown(table, knees))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"runs": rows, "summary": table, "knees": knees}, indent=1)
        )


if __name__ == "__main__":
    main()
