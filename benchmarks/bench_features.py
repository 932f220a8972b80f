"""Latents as morphology features: VAE variants vs PCA, repeated CV, paired tests.

Every model is fitted once per dataset on all its cutouts, without labels
(as a survey would be encoded), with ``n_latent`` features each:

- ``pca``: PCA of the pixels scaled to [0, 1], the linear baseline;
- ``vae``: ``VAETransformer(invariance=None)``, flips and turns as input
  augmentation only;
- ``vae pose-free``: ``invariance="dihedral"``;
- ``vae pose-free+cr``: ``invariance="dihedral", consistency_weight=1``
  (survey-like views of the default ranges);
- ``vae pose-free+flip-cr``: the same with views that are only flipped and
  turned (``consistency_view`` with no blur, noise, shift or size change);
- ``<model> invariant``: that model's latents averaged over each cutout's 8
  flips and quarter turns, from the same fit (for PCA, its best treatment
  for similarity). The other rows are what ``transform`` returns.

Each set of latents is then judged by three probes, random forest (the
study's), logistic regression and 10-nearest neighbours, over the same
repeated stratified folds (``--folds`` x ``--repeats``): balanced accuracy
(and accuracy), mean and standard deviation over the folds, and a paired
test against ``pca`` over the same folds (the corrected resampled t-test of
Nadeau & Bengio 2003, which allows for the overlap of the training sets; a
difference with p >= 0.05 is a tie). Precision@10 per class (every galaxy a
query, itself excluded, standardised latents) is reported beside it.

On sdss_gz1, ``--ceiling`` trains a supervised CNN (the VAE's encoder with a
linear head, cross-entropy with balanced class weights, flips and turns) on
the labels of each training fold of the first repeat: how far supervision
gets with the same network.

Data: ``gz`` is Galaxy Zoo DESI (``--gz``, 1,500 DECaLS cutouts, area-resampled
to 64x64; tasks spiral vs elliptical and the 3 GZ1 classes), ``sdss`` is
sdss_gz1 (``--sdss``, 6,664 SDSS JPEGs, central 141x141 pixels resampled to
64x64 by :class:`~skgalvae.preprocessing.CenterCrop` and
:class:`~skgalvae.preprocessing.Resize`; tasks elliptical / spiral /
edge-on / merger and spiral vs elliptical; "don't know" left out). Latents
are cached under ``--cache`` so a rerun only redoes what changed.

Run::

    python benchmarks/bench_features.py --datasets gz sdss --ceiling \
        --json features.json
    python benchmarks/bench_features.py --datasets gz --epochs 3   # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from bench_similarity import precision_at_k
from sklearn.decomposition import PCA
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.class_weight import compute_class_weight

from skgalvae import VAETransformer
from skgalvae.datasets import load_gz_desi, make_galaxies
from skgalvae.inspection import invariant_latents
from skgalvae.io import read_images
from skgalvae.labels import first_level_classes
from skgalvae.model_selection import compare_features, default_probes
from skgalvae.nn.architectures import build_encoder, resolve_hidden_dims
from skgalvae.nn.augment import dihedral_augment
from skgalvae.preprocessing import CenterCrop, MTFStretch, Resize

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
VAE_MODELS = {
    "vae": {},
    "vae pose-free": {"invariance": "dihedral"},
    "vae pose-free+cr": {"invariance": "dihedral", "consistency_weight": 1.0},
    "vae pose-free+flip-cr": {
        "invariance": "dihedral",
        "consistency_weight": 1.0,
        "consistency_view": {"blur": 0, "noise": 0, "shift": 0, "scale": (1, 1)},
    },
}
MODELS = (
    "pca",
    "pca invariant",
    *VAE_MODELS,
    *(f"{name} invariant" for name in VAE_MODELS),
)
SDSS_CLASSES = {0: "elliptical", 1: "spiral", 2: "spiral", 3: "edge-on", 5: "merger"}


# ----------------------------------------------------------------------- data
def load_gz(path, size):
    """Galaxy Zoo DESI cutouts and their tasks."""
    data = load_gz_desi(path, image_size=size)
    classes = data.labels["gz1_class"].astype(str).to_numpy()
    two = np.isin(classes, ["spiral", "elliptical"])
    tasks = {
        "spiral vs elliptical": (two, classes),
        "GZ1 3-way": (np.ones(len(classes), bool), classes),
    }
    return data.images, classes, tasks


def load_sdss(path, size, cache):
    """sdss_gz1 cutouts (central 141 px resampled to ``size``) and their tasks."""
    path = Path(path)
    catalog = pd.read_csv(path / "catalog.csv")
    stored = Path(cache) / f"sdss_{size}.npy"
    if stored.exists():
        images = np.load(stored)
    else:
        steps = make_pipeline(CenterCrop(141), Resize(size))
        files = [path / f for f in catalog["file"]]
        images = np.concatenate(
            [
                steps.fit_transform(read_images(files[i : i + 500]))
                for i in range(0, len(files), 500)
            ]
        )
        np.save(stored, images)
    classes = catalog["CLASS"].map(SDSS_CLASSES).fillna("don't know").to_numpy()
    known = classes != "don't know"
    two = np.isin(classes, ["spiral", "elliptical"])
    tasks = {"4-way": (known, classes), "spiral vs elliptical": (two, classes)}
    return images, classes, tasks


def load_sim(n, size, seed):
    """Simulated DECaLS galaxies, MTF-stretched as the study trains on them.

    Tasks: the six first-level classes of the study (round, in-between,
    cigar-shaped, edge-on, spiral, other featured) and smooth vs featured.
    """
    data = make_galaxies(n, image_size=size, random_state=seed)
    classes = first_level_classes(data.labels).astype(str).to_numpy()
    everyone = np.ones(len(classes), bool)
    tasks = {
        "first level": (everyone, classes),
        "smooth vs featured": (everyone, data.params["morphology"].to_numpy()),
    }
    return MTFStretch().fit_transform(data.images), classes, tasks


# ------------------------------------------------------------------- features
def _flatten(images):
    """Pixels in [0, 1]: 8-bit cutouts scaled, stretched floats as they are."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    return flat / 255.0 if images.dtype == np.uint8 else flat


def latents(name, images, args, cache_key):
    """Return ``(Z, info)`` for model ``name``, from the cache when it is there.

    ``"<model> invariant"`` is ``<model>``'s latents averaged over the 8 flips
    and quarter turns of each image, from the same fit.
    """
    model = name.removesuffix(" invariant")
    stored = Path(args.cache) / f"{cache_key}_{model.replace(' ', '_')}.npz"
    if not stored.exists():
        start = time.perf_counter()
        info = {}
        if model == "pca":
            fitted = make_pipeline(
                FunctionTransformer(_flatten),
                PCA(args.n_latent, random_state=args.seed),
            ).fit(images)
        else:
            fitted = VAETransformer(
                args.n_latent,
                max_epochs=args.epochs,
                batch_size=args.batch_size,
                random_state=args.seed,
                device=args.device,
                **VAE_MODELS[model],
            ).fit(images)
            info = {
                "s_per_epoch": float(np.mean(fitted.history_[:, "dur"])),
                "active": int(fitted.n_active_latents_),
                "ssim": float(fitted.score(images)),
            }
        info["fit_s"] = time.perf_counter() - start
        np.savez(
            stored,
            Z=fitted.transform(images),
            Z_invariant=invariant_latents(fitted, images),
            info=np.asarray(info, dtype=object),
        )
    saved = np.load(stored, allow_pickle=True)
    key = "Z_invariant" if name.endswith(" invariant") else "Z"
    return saved[key], saved["info"].item()


# -------------------------------------------------------------------- ceiling
class _Classifier(torch.nn.Module):
    """The VAE's encoder with a linear head on its posterior mean."""

    def __init__(self, side, n_latent, n_classes):
        super().__init__()
        shape = (3, side, side)
        dims = resolve_hidden_dims("resnet", "auto", shape)
        self.encoder = build_encoder("resnet", shape, dims, n_latent)
        self.head = torch.nn.Linear(n_latent, n_classes)

    def forward(self, x):
        return self.head(self.encoder(x)[0])


def supervised_ceiling(images, y, folds, args):
    """Balanced accuracy of a CNN trained on the labels of each training fold."""
    names, codes = np.unique(y, return_inverse=True)
    x_all = torch.from_numpy(_flatten(images).reshape(images.shape))
    scores = []
    for fold, (train, test) in enumerate(folds):
        torch.manual_seed(args.seed + fold)
        generator = torch.Generator().manual_seed(args.seed + fold)
        net = _Classifier(images.shape[-1], args.n_latent, len(names))
        weights = compute_class_weight("balanced", classes=np.arange(len(names)),
                                       y=codes[train])  # fmt: skip
        loss_fn = torch.nn.CrossEntropyLoss(torch.tensor(weights, dtype=torch.float32))
        optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
        steps = args.ceiling_epochs * math.ceil(len(train) / args.batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
        target = torch.from_numpy(codes)
        for _ in range(args.ceiling_epochs):
            net.train()
            order = torch.from_numpy(train)[
                torch.randperm(len(train), generator=generator)
            ]
            for rows in order.split(args.batch_size):
                x = dihedral_augment(x_all[rows], generator=generator)
                loss = loss_fn(net(x), target[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        net.eval()
        with torch.no_grad():
            pred = torch.cat(
                [net(x_all[r]).argmax(1) for r in torch.from_numpy(test).split(256)]
            )
        scores.append(balanced_accuracy_score(codes[test], pred.numpy()))
        print(f"  ceiling fold {fold}: {scores[-1]:.3f}", flush=True)
    return np.array(scores)


# ----------------------------------------------------------------------- main
def run_dataset(dataset, args):
    """Every model and probe on one dataset; returns result rows."""
    if dataset == "gz":
        images, classes, tasks = load_gz(args.gz, args.size)
    elif dataset == "sim":
        images, classes, tasks = load_sim(args.n_sim, args.size, args.seed)
    else:
        images, classes, tasks = load_sdss(args.sdss, args.size, args.cache)
    key = f"{dataset}_{args.size}_{args.n_latent}_{args.epochs}_{args.seed}"
    rows = []
    spaces = {}
    for name in args.models:
        Z, info = latents(name, images, args, key)
        spaces[name] = Z
        print(f"[{dataset}] {name}: {info}", flush=True)
        known = classes != "don't know"
        precision = precision_at_k(
            Z[known], classes[known], 10, "euclidean", standardize=True
        )
        rows.append({"dataset": dataset, "model": name, "kind": "fit", **info,
                     **{f"p@10 {c}": v for c, v in precision.items()}})  # fmt: skip
    for task, (mask, labels) in tasks.items():
        y = labels[mask]
        splitter = RepeatedStratifiedKFold(
            n_splits=args.folds, n_repeats=args.repeats, random_state=0
        )
        folds = list(splitter.split(np.zeros(len(y)), y))
        majority = float(pd.Series(y).value_counts(normalize=True).iloc[0])
        probes = {
            k: v for k, v in default_probes(args.seed).items() if k in args.probes
        }
        on_task = {name: Z[mask] for name, Z in spaces.items()}
        scores = compare_features(
            on_task, y, baseline="pca", probes=probes, cv=folds,
            scoring=["balanced_accuracy", "accuracy"],
        ).set_index(["scoring", "probe", "features"])  # fmt: skip
        balanced, plain = scores.loc["balanced_accuracy"], scores.loc["accuracy"]
        for key, row in balanced.iterrows():
            rows.append({
                "dataset": dataset, "task": task, "probe": key[0], "model": key[1],
                "n": int(mask.sum()), "majority": majority,
                "balanced": row["mean"], "balanced_sd": row["sd"],
                "accuracy": plain.loc[key, "mean"],
                "accuracy_sd": plain.loc[key, "sd"],
                "diff_vs_pca": row["difference"], "p_vs_pca": row["p_value"],
            })  # fmt: skip
            print(_line(rows[-1]), flush=True)
        if args.ceiling and dataset == "sdss" and task == "4-way":
            scores = supervised_ceiling(images[mask], y, folds[: args.folds], args)
            rows.append({
                "dataset": dataset, "task": task, "probe": "supervised CNN",
                "model": "ceiling", "n": int(mask.sum()), "majority": majority,
                "balanced": float(scores.mean()),
                "balanced_sd": float(scores.std(ddof=1)),
            })  # fmt: skip
            print(_line(rows[-1]), flush=True)
    return rows


def _line(row):
    text = (
        f"[{row['dataset']}] {row['task']:>20} {row['probe']:>14} {row['model']:>17}: "
        f"balanced {row['balanced']:.3f} +- {row['balanced_sd']:.3f}"
    )
    if "accuracy" in row:
        text += f", accuracy {row['accuracy']:.3f} +- {row['accuracy_sd']:.3f}"
    if row.get("model") not in ("pca", "ceiling"):
        text += f"; vs pca {row['diff_vs_pca']:+.3f} (p={row['p_vs_pca']:.3f})"
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["gz", "sdss"],
                        choices=["gz", "sdss", "sim"])  # fmt: skip
    parser.add_argument("--n-sim", type=int, default=3000)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--probes", nargs="+", default=["rf", "logreg", "knn"])
    parser.add_argument("--gz", default=str(SHARED / "gz_desi_1500"))
    parser.add_argument("--sdss", default=str(SHARED / "sdss_gz1"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-latent", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ceiling", action="store_true")
    parser.add_argument("--ceiling-epochs", type=int, default=15)
    parser.add_argument("--cache", default="bench_features_cache")
    parser.add_argument("--json", help="write every row here")
    args = parser.parse_args(argv)
    if "pca" not in args.models:
        args.models = ["pca", *args.models]  # the paired tests' baseline
    Path(args.cache).mkdir(exist_ok=True)
    rows = []
    for dataset in args.datasets:
        rows += run_dataset(dataset, args)
        if args.json:  # after each dataset, so a long run keeps what it has
            Path(args.json).write_text(
                json.dumps({"settings": vars(args), "rows": rows})
            )
    return rows


if __name__ == "__main__":
    main()
