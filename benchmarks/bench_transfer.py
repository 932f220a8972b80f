"""Transfer across a real survey shift: SDSS <-> DECaLS, frozen source forest.

Does a random forest trained on one survey's latents and labels classify
another survey's galaxies after domain adaptation? The surveys are real and
unpaired: ``sdss_gz1`` (6,664 SDSS colour cutouts, central 141 px resampled to
64x64) and ``gz_desi_1500`` (1,500 DECaLS colour cutouts at 64x64), labelled
with the same Galaxy Zoo 1 leaf classes (the largest vote fraction among
elliptical, clockwise / anticlockwise spiral, edge-on, don't know, merger).
The task common to both is spiral (either winding) vs elliptical: DECaLS's
set was selected as 500 ellipticals and 1,000 face-on spirals, so it holds no
edge-on or merger galaxy to make a 3-way task of.

For each direction (``sdss->decals``, ``decals->sdss``):

1. ``VAETransformer`` (defaults, ``--epochs``) is fitted on every source
   image, without labels; a forest (300 trees, balanced class weights) on
   the labelled source latents.
   With ``--preprocess bandscale`` both surveys' cutouts are first scaled
   band by band to [0, 1] each (the study's normalisation,
   :class:`~skgalvae.preprocessing.BandScaler`), which removes the
   surveys' differences of brightness and colour balance before any
   model sees them.
2. Every encoder below encodes both surveys; the target's labels are only
   used for scoring:

   - ``no adaptation``: the source VAE;
   - ``shared mmd``: ``DomainAdaptedVAETransformer(init=vae)`` at its
     defaults (one encoder, fine-tuned on both surveys);
   - ``anchored mmd`` / ``anchored cluster_mmd`` / ``anchored coral`` /
     ``anchored, no alignment``: ``anchor="source"`` with that
     ``adaptation`` (the last with ``mmd_weight=0``: the target encoder
     trained by its reconstruction alone, the control);
   - ``latent-anchored cluster_mmd`` / ``latent-anchored mmd``:
     ``anchor="latents"``, one encoder for both surveys with the source
     latents held to the source VAE's by a penalty, the target aligned to
     them;
   - skada's shallow adapters on the source VAE's frozen latents
     (``make_da_pipeline(StandardScaler(), adapter, forest)``): CORAL,
     the linear (Gaussian) OT map, subspace alignment.

3. Scores, all balanced accuracy on spiral vs elliptical:

   - ``target, source RF``: the source forest on the target's latents (the
     transfer that adaptation is for), with its bootstrap standard error
     over target galaxies;
   - ``its AUC``: the ROC AUC of that forest's spiral probability on the
     target galaxies, which does not depend on where the forest draws the
     line: high AUC with low balanced accuracy means the target's latents
     are ordered right but sit on the wrong side of the source's boundary;
   - ``target, RF retrained``: 5-fold CV of a forest trained on the
     target's own latents and labels (the study's Table 4 protocol: do the
     latents still carry morphology?);
   - ``oracle``: that number for the source VAE's latents, the ceiling of
     what transfer can reach with them;
   - ``recovered``: (target, source RF - the same without adaptation) /
     (oracle - without adaptation), with the bootstrap standard error of
     the numerator (paired: the same resampled galaxies for both);
   - ``source``: 5-fold CV on the source's latents (what adaptation keeps);
   - ``domain AUC``: a classifier telling the surveys' latents apart
     (0.5 aligned), on at most 1,500 rows of each.

Run::

    python benchmarks/bench_transfer.py --json transfer.json   # ~1 h on 2 CPUs
    python benchmarks/bench_transfer.py --epochs 2 --da-epochs 1 \
        --max-source 600                                         # a quick look
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from bench_features import load_sdss
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from skgalvae import DomainAdaptedVAETransformer, VAETransformer
from skgalvae.datasets import load_gz_desi
from skgalvae.metrics import domain_auc
from skgalvae.preprocessing import BandScaler

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
LEAF = ["P_EL", "P_CW", "P_ACW", "P_EDGE", "P_DK", "P_MG"]
LEAF_NAMES = ["elliptical", "spiral", "spiral", "edge-on", "don't know", "merger"]
TASK = ("elliptical", "spiral")
# Adaptation runs by name: DomainAdaptedVAETransformer's parameters.
SHARED_ENCODER = {"anchor": None, "adaptation": "mmd"}  # the study's MMD
RUNS = {
    "shared mmd": SHARED_ENCODER,
    "shared, study λ=0.5 fixed": {
        **SHARED_ENCODER,
        "weighting": "fixed",
        "mmd_weight": 0.5,
    },
    "anchored mmd": {"anchor": "source", "adaptation": "mmd"},
    "anchored cluster_mmd (default)": {},
    "anchored coral": {"anchor": "source", "adaptation": "coral"},
    "anchored, no alignment": {"anchor": "source", "mmd_weight": 0.0},
    "decoder-anchored, no alignment": {"anchor": "decoder", "mmd_weight": 0.0},
    "decoder-anchored mmd": {"anchor": "decoder", "adaptation": "mmd"},
    "decoder-anchored cluster_mmd": {"anchor": "decoder", "adaptation": "cluster_mmd"},
    "latent-anchored cluster_mmd": {"anchor": "latents"},
    "latent-anchored mmd": {"anchor": "latents", "adaptation": "mmd"},
}
SHALLOW = ("CORAL", "linear OT", "subspace alignment")


# ----------------------------------------------------------------------- data
def load_decals(path, size):
    """gz_desi_1500 cutouts and their Galaxy Zoo 1 leaf classes."""
    data = load_gz_desi(path, image_size=size)
    catalog = pd.read_csv(Path(path) / "catalog.csv")
    leaf = catalog[LEAF].to_numpy().argmax(axis=1)
    return data.images, np.asarray(LEAF_NAMES)[leaf]


def load_surveys(args):
    sdss_images, sdss_classes, _ = load_sdss(args.sdss, args.size, args.cache)
    decals_images, decals_classes = load_decals(args.gz, args.size)
    if args.preprocess == "bandscale":
        # The study's normalisation: each band of each cutout to [0, 1].
        sdss_images = BandScaler().fit_transform(sdss_images)
        decals_images = BandScaler().fit_transform(decals_images)
    return {
        "sdss": (sdss_images, sdss_classes),
        "decals": (decals_images, decals_classes),
    }


# ---------------------------------------------------------------- estimators
def forest(seed):
    return RandomForestClassifier(
        300, class_weight="balanced", n_jobs=-1, random_state=seed
    )


def source_vae(name, images, args):
    """The source VAE, fitted once per survey and settings (cached)."""
    stored = Path(args.cache) / (
        f"transfer_vae_{name}_{len(images)}_{args.size}_{args.n_latent}_"
        f"{args.epochs}_{args.seed}{'_bandscale' * (args.preprocess == 'bandscale')}"
        f"{'_' + args.invariance if args.invariance else ''}.joblib"
    )
    if stored.exists():
        return joblib.load(stored).set_params(verbose=0)
    vae = VAETransformer(
        args.n_latent,
        max_epochs=args.epochs,
        invariance=args.invariance,
        random_state=args.seed,
    ).fit(images)
    joblib.dump(vae, stored)
    return vae


def images_per_second(model, rows_per_epoch):
    return rows_per_epoch / float(np.mean(model.history_[:, "dur"]))


def skada_scores(Z_s, y_s, Z_t, seed):
    """Predictions on Z_t of skada's shallow adapters + forest."""
    from skada import (
        CORALAdapter,
        LinearOTMappingAdapter,
        SubspaceAlignmentAdapter,
        make_da_pipeline,
    )

    adapters = {
        "CORAL": CORALAdapter(),
        # Inactive latents make the covariances singular: regularise.
        "linear OT": LinearOTMappingAdapter(reg=1e-3),
        "subspace alignment": SubspaceAlignmentAdapter(n_components=20),
    }
    X = np.concatenate([Z_s, Z_t])
    y = np.concatenate([y_s, np.full(len(Z_t), -1)])
    domain = np.concatenate([np.ones(len(Z_s), int), -np.ones(len(Z_t), int)])
    predictions = {}
    for name, adapter in adapters.items():
        pipe = make_da_pipeline(StandardScaler(), adapter, forest(seed))
        try:
            pipe.fit(X, y, sample_domain=domain)
            target = -np.ones(len(Z_t), int)
            predictions[name] = pipe.predict(Z_t, sample_domain=target)
        except (ValueError, np.linalg.LinAlgError) as exc:
            print(f"skada {name} failed: {exc}")
    return predictions


# -------------------------------------------------------------------- scores
def cv_balanced(Z, y, seed):
    """Balanced accuracy of a forest, mean and SD over 5 stratified folds."""
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    scores = [
        balanced_accuracy_score(y[te], forest(seed).fit(Z[tr], y[tr]).predict(Z[te]))
        for tr, te in folds.split(Z, y)
    ]
    return float(np.mean(scores)), float(np.std(scores))


def bootstrap_rows(n, n_boot, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, n) for _ in range(n_boot)]


def balanced(y, pred, rows=None):
    return (
        balanced_accuracy_score(y, pred)
        if rows is None
        else (balanced_accuracy_score(y[rows], pred[rows]))
    )


# ------------------------------------------------------------------- runs
def direction(source, target, surveys, args):
    """Every encoder and baseline for one source -> target direction."""
    X_s, classes_s = surveys[source]
    X_t, classes_t = surveys[target]
    if args.max_source and len(X_s) > args.max_source:
        keep = np.random.default_rng(args.seed).permutation(len(X_s))[: args.max_source]
        X_s, classes_s = X_s[np.sort(keep)], classes_s[np.sort(keep)]
    task_s, task_t = np.isin(classes_s, TASK), np.isin(classes_t, TASK)
    # Integer labels (skada masks the target's with -1): 0 elliptical, 1 spiral.
    y_s = (classes_s[task_s] == TASK[1]).astype(int)
    y_t = (classes_t[task_t] == TASK[1]).astype(int)
    start = time.perf_counter()
    vae = source_vae(source, X_s, args)
    timings = {"source VAE": time.perf_counter() - start}
    speed = {"source VAE": images_per_second(vae, len(X_s))}
    latents = {"no adaptation": (vae.transform(X_s), vae.transform(X_t))}
    for name in args.runs:
        stored = Path(args.cache) / (
            f"transfer_latents_{source}_{len(X_s)}_{args.preprocess}_"
            f"{args.epochs}_{args.da_epochs}_{args.seed}_{args.invariance}_"
            + "".join(c if c.isalnum() else "-" for c in name)
            + ".npz"
        )
        if not stored.exists():
            start = time.perf_counter()
            da = DomainAdaptedVAETransformer(
                args.n_latent,
                max_epochs=args.da_epochs,
                random_state=args.seed,
                init=FrozenEstimator(vae),
                invariance=args.invariance,
                **RUNS[name],
            ).fit(X_s, X_target=X_t)
            np.savez(
                stored,
                Z_s=da.transform(X_s, domain="source"),
                Z_t=da.transform(X_t, domain="target"),
                fit_s=time.perf_counter() - start,
                # Each epoch runs the source's rows and as many target rows.
                img_s=images_per_second(da, 2 * len(X_s)),
            )
        saved = np.load(stored)
        latents[name] = (saved["Z_s"], saved["Z_t"])
        timings[name], speed[name] = float(saved["fit_s"]), float(saved["img_s"])

    boots = bootstrap_rows(int(task_t.sum()), args.n_boot, args.seed)
    rows = {}
    predictions = {}
    for name, (Z_s, Z_t) in latents.items():
        rf = forest(args.seed).fit(Z_s[task_s], y_s)
        spiral = rf.predict_proba(Z_t[task_t])[:, 1]
        predictions[name] = (spiral > 0.5).astype(int)
        cap = min(len(Z_s), len(Z_t), 1500)
        rows[name] = {
            "target_source_rf": balanced(y_t, predictions[name]),
            "target_source_rf_auc": float(roc_auc_score(y_t, spiral)),
            "target_retrained": cv_balanced(Z_t[task_t], y_t, args.seed),
            "source": cv_balanced(Z_s[task_s], y_s, args.seed),
            "domain_auc": domain_auc(
                Z_s[np.random.default_rng(0).permutation(len(Z_s))[:cap]],
                Z_t[np.random.default_rng(1).permutation(len(Z_t))[:cap]],
            ),
        }
        if name == "no adaptation":
            for shallow, pred in skada_scores(
                Z_s[task_s], y_s, Z_t[task_t], args.seed
            ).items():
                predictions[f"skada {shallow}"] = pred
                rows[f"skada {shallow}"] = {"target_source_rf": balanced(y_t, pred)}
    oracle = rows["no adaptation"]["target_retrained"][0]
    before = predictions["no adaptation"]
    for name, row in rows.items():
        pred = predictions[name]
        row["target_source_rf_se"] = float(
            np.std([balanced(y_t, pred, r) for r in boots])
        )
        gains = [balanced(y_t, pred, r) - balanced(y_t, before, r) for r in boots]
        gap = oracle - row_before(rows)
        row["recovered"] = (row["target_source_rf"] - row_before(rows)) / gap
        row["recovered_se"] = float(np.std(gains)) / gap
    return {
        "n_source": len(X_s),
        "n_target": len(X_t),
        "n_source_task": int(task_s.sum()),
        "n_target_task": int(task_t.sum()),
        "source_classes": dict(
            zip(TASK, np.bincount(y_s, minlength=2).tolist(), strict=True)
        ),
        "target_classes": dict(
            zip(TASK, np.bincount(y_t, minlength=2).tolist(), strict=True)
        ),
        "oracle": oracle,
        "rows": rows,
        "timings_s": timings,
        "images_per_s": speed,
    }


def row_before(rows):
    return rows["no adaptation"]["target_source_rf"]


def print_direction(name, result):
    print(
        f"\n## {name}: {result['n_source']} source galaxies "
        f"({result['n_source_task']} labelled spiral/elliptical), "
        f"{result['n_target']} target ({result['n_target_task']} labelled)"
    )
    print(
        f"oracle (forest on the target's own labels, source VAE): "
        f"{result['oracle']:.3f}"
    )
    print(
        "| encoder | target, source RF | its AUC | recovered | "
        "target, RF retrained | source (5-fold) | domain AUC |"
    )
    print("|---|---|---|---|---|---|---|")
    for encoder, row in result["rows"].items():
        retrained = row.get("target_retrained")
        source = row.get("source")
        auc = row.get("domain_auc")
        rank_auc = row.get("target_source_rf_auc")
        print(
            f"| {encoder} | {row['target_source_rf']:.3f} ± "
            f"{row['target_source_rf_se']:.3f} | "
            + (f"{rank_auc:.3f}" if rank_auc is not None else "-")
            + f" | {row['recovered']:+.0%} ± "
            f"{row['recovered_se']:.0%} | "
            + (f"{retrained[0]:.3f} ± {retrained[1]:.3f}" if retrained else "-")
            + " | "
            + (f"{source[0]:.3f} ± {source[1]:.3f}" if source else "-")
            + " | "
            + (f"{auc:.3f}" if auc is not None else "-")
            + " |"
        )
    speed = result["images_per_s"]
    print(
        "images/s: "
        + ", ".join(f"{k} {v:.0f}" for k, v in speed.items())
        + "; fit s: "
        + ", ".join(f"{k} {v:.0f}" for k, v in result["timings_s"].items())
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--sdss", default=str(SHARED / "sdss_gz1"))
    parser.add_argument("--gz", default=str(SHARED / "gz_desi_1500"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-latent", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=15, help="source VAE epochs")
    parser.add_argument("--da-epochs", type=int, default=5)
    parser.add_argument("--max-source", type=int, default=0,
                        help="at most this many source galaxies (0: all)")  # fmt: skip
    directions = ["sdss->decals", "decals->sdss"]
    parser.add_argument("--directions", nargs="+", default=directions,
                        choices=directions)  # fmt: skip
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument(
        "--preprocess", choices=["none", "bandscale"], default="none",
        help="bandscale: each band of each cutout to [0, 1] (the study's), "
        "both surveys",
    )  # fmt: skip
    parser.add_argument("--n-boot", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--invariance", choices=["dihedral"], default=None,
        help="pose-free VAEs (source and adaptations)",
    )  # fmt: skip
    parser.add_argument("--cache", default="bench_features_cache")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    Path(args.cache).mkdir(exist_ok=True)
    surveys = load_surveys(args)
    results = {"args": vars(args)}
    for name in args.directions:
        source, target = name.split("->")
        results[name] = direction(source, target, surveys, args)
        print_direction(name, results[name])
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
