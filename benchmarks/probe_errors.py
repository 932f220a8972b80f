"""Probe every public entry point with bad input and judge each error it gives.

Each probe calls one public function or method with one kind of bad input
(None, text, an empty array, the wrong rank, NaN, a missing file, a bad
count, ...). A probe's outcome is:

``clear``
    An error raised on purpose, by a ``raise`` statement in skgalvae or in
    scikit-learn's input validation (which names the estimator and the
    array), with a message.
``deep``
    An error from inside torch, numpy, pandas, pyarrow, json, zarr, astropy
    or Python itself, or one our code did not mean to raise (an
    ``AttributeError`` on ``None``): the user is left to guess the cause.
``silent``
    No error where the input is wrong: a result was returned.
``correct``
    A probe that expects a result (not an error) got one, and its check of
    the result passed; ``silent`` when the check failed.
``accepted``
    A result was returned for input that is documented to work (flattened
    rows of the fitted image shape, an object array of numbers, a negative
    row counted from the end); each such probe says why it is accepted.
``hang``
    Still running after the probe's time limit (each probe runs in the
    parent process except those marked ``isolated``, which run in a
    subprocess killed at the limit).

Run ``python benchmarks/probe_errors.py`` (about a minute on 2 CPU cores);
``--json FILE`` writes every outcome and message, ``--show deep silent``
prints the probes with those outcomes in full. The script exits 1 when any
probe is not ``clear``.
"""

from __future__ import annotations

import argparse
import contextlib
import dis
import io
import json
import os
import sys
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGE_DIRS = ("skgalvae",)
# scikit-learn's own validation raises errors that name the estimator and the
# array; an error raised there on purpose is as clear as one of ours.
VALIDATION_MODULES = ("sklearn/utils/", "sklearn/base.py")


@dataclass
class Probe:
    """One call with one bad input, and what came of it."""

    entry: str
    case: str
    call: object
    accepted_because: str = ""
    isolated: bool = False
    expects_result: bool = False
    outcome: str = ""
    message: str = ""
    where: str = ""


def _deliberate(tb) -> tuple[bool, str]:
    """Whether the innermost frame raised on purpose, and where it is.

    On purpose means a ``raise`` statement (the frame stopped at a
    ``RAISE_VARARGS`` instruction) in skgalvae or in scikit-learn's
    validation: read from the bytecode, so the answer holds even if the
    source file changed since it was imported.
    """
    if tb is None:
        return False, "?"
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    where = f"{code.co_filename}:{tb.tb_lineno}"
    ours = any(f"/{d}/" in code.co_filename for d in PACKAGE_DIRS) or any(
        v in code.co_filename for v in VALIDATION_MODULES
    )
    stopped_at = next(
        (i.opname for i in dis.get_instructions(code) if i.offset == tb.tb_lasti),
        None,
    )
    return ours and stopped_at == "RAISE_VARARGS", where


def judge_isolated(probe: Probe, timeout: float = 20.0) -> None:
    """Judge ``probe`` in a forked process, killed (a hang) at ``timeout`` s."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        judge(probe)
        send.send((probe.outcome, probe.message, probe.where))

    process = context.Process(target=child)
    process.start()
    if receive.poll(timeout):
        probe.outcome, probe.message, probe.where = receive.recv()
    else:
        probe.outcome, probe.message = "hang", f"still running after {timeout:.0f} s"
    process.kill()
    process.join()


def judge(probe: Probe) -> None:
    """Run a probe and record its outcome."""
    stdout = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(stdout):
            warnings.simplefilter("ignore")
            returned = probe.call()
    except SystemExit as error:  # the CLI's usage errors exit 2 with a line
        probe.outcome = "clear" if error.code == 2 else "deep"
        probe.message = f"exit {error.code}"
    except BaseException as error:  # noqa: BLE001 - judging every error is the point
        deliberate, where = _deliberate(error.__traceback__)
        text = str(error).strip()
        # Python's own check of a call's keywords names the argument.
        signature = isinstance(error, TypeError) and "unexpected keyword" in text
        # The operating system's errors name the file and what is wrong with it.
        named_file = isinstance(error, OSError) and error.filename is not None
        clear = (deliberate and text) or signature or named_file
        probe.outcome = "clear" if clear else "deep"
        probe.message = f"{type(error).__name__}: {text}"[:400]
        probe.where = where
    else:
        if probe.expects_result:
            # The call returns whether its result is right.
            probe.outcome = "correct" if returned is True else "silent"
            probe.message = "" if returned is True else f"check gave {returned!r}"
        else:
            probe.outcome = "accepted" if probe.accepted_because else "silent"
            probe.message = probe.accepted_because


# --------------------------------------------------------------------------
# The probes.
# --------------------------------------------------------------------------
BAD_ARRAYS = {
    "None": lambda X: None,
    "text": lambda X: "galaxies",
    "a number": lambda X: 3.0,
    "an empty list": lambda X: [],
    "no samples": lambda X: X[:0],
    "one dimension": lambda X: X.reshape(-1)[:10],
    "five dimensions": lambda X: X[:, None],
    "ragged lists": lambda X: [X[0].tolist(), X[1, :1].tolist()],
    "complex": lambda X: X.astype(np.complex64),
    "text values": lambda X: X.astype(str),
    "objects": lambda X: X.astype(object),
    "NaN pixels": lambda X: np.where(
        np.arange(X.size).reshape(X.shape) == 5, np.nan, X
    ),
    "inf pixels": lambda X: np.where(
        np.arange(X.size).reshape(X.shape) == 5, np.inf, X
    ),
    "a dict": lambda X: {"images": X},
    "missing files": lambda X: ["no/such/cutout.fits", "no/such/other.fits"],
}


def _images():
    from skgalvae.datasets import make_blobs_images

    return make_blobs_images(24, image_size=32, random_state=0).images


def _fitted(images):
    from skgalvae import VAETransformer

    return VAETransformer(n_latent=2, max_epochs=1, batch_size=8, random_state=0).fit(
        images
    )


def image_estimator_probes(images, fitted):
    """Bad X for ``fit`` and ``transform`` of every image estimator."""
    from skgalvae import (
        GMMVAETransformer,
        ReconstructionOutlierDetector,
        VAETransformer,
    )
    from skgalvae.preprocessing import (
        AsinhStretch,
        BandScaler,
        CenterCrop,
        MTFStretch,
        Resize,
    )

    small = dict(n_latent=2, max_epochs=1, batch_size=8)
    estimators = {
        "VAETransformer.fit": lambda: VAETransformer(**small),
        "GMMVAETransformer.fit": lambda: GMMVAETransformer(n_components=2, **small),
        "ReconstructionOutlierDetector.fit": lambda: ReconstructionOutlierDetector(
            VAETransformer(**small)
        ),
        "BandScaler.fit": BandScaler,
        "AsinhStretch.fit": AsinhStretch,
        "MTFStretch.fit": MTFStretch,
        "CenterCrop.fit": lambda: CenterCrop(16),
        "Resize.fit": lambda: Resize(16),
    }
    for entry, make in estimators.items():
        for case, bad in BAD_ARRAYS.items():
            yield Probe(entry, case, lambda m=make, b=bad: m().fit(b(images)))
    for method in ("transform", "inverse_transform", "score", "reconstruct"):
        for case, bad in BAD_ARRAYS.items():
            source = (
                images if method != "inverse_transform" else fitted.transform(images)
            )
            yield Probe(
                f"VAETransformer.{method}",
                case,
                lambda m=method, b=bad, s=source: getattr(fitted, m)(b(s)),
            )
    wrong = {
        "another channel count": images[:, :1],
        "another side": images[:, :, :16, :16],
        "features for an image model": images.reshape(len(images), -1),
    }
    for case, X in wrong.items():
        yield Probe(
            "VAETransformer.transform",
            case,
            lambda X=X: fitted.transform(X),
            accepted_because="rows of the fitted image shape, flattened, are images"
            if case.startswith("features")
            else "",
        )
    Z = fitted.transform(images)
    yield Probe(
        "VAETransformer.inverse_transform",
        "three columns for two latents",
        lambda: fitted.inverse_transform(np.c_[Z, Z[:, :1]]),
    )
    for case, n in {"zero": 0, "negative": -1, "a fraction": 1.5, "text": "3"}.items():
        yield Probe(
            "VAETransformer.sample", f"n_samples {case}", lambda n=n: fitted.sample(n)
        )
    for case, value in {
        "n_latent zero": dict(n_latent=0),
        "n_latent text": dict(n_latent="4"),
        "batch_size zero": dict(batch_size=0),
        "max_epochs negative": dict(max_epochs=-1),
        "lr negative": dict(lr=-1.0),
        "device nonsense": dict(device="gpu0"),
        "architecture unknown": dict(architecture="unet"),
        "likelihood unknown": dict(likelihood="poisson"),
        "hidden_dims empty": dict(hidden_dims=()),
        "hidden_dims text": dict(hidden_dims="32,64"),
        "image_shape wrong rank": dict(image_shape=(32, 32)),
        "augment unknown": dict(augment="rotate"),
        "invariance unknown": dict(invariance="rotation90"),
        "random_state text": dict(random_state="seed"),
    }.items():
        yield Probe(
            "VAETransformer(...).fit",
            case,
            lambda v=value: VAETransformer(**{**small, **v}).fit(images),
        )


def feature_probes():
    """Bad latents for the outlier detector, similarity and metrics."""
    import pandas as pd

    from skgalvae import LatentOutlierDetector
    from skgalvae.inspection import latent_correlations, similar_galaxies
    from skgalvae.metrics import domain_auc, mmd2, mmd2_permutation_test

    Z = np.random.default_rng(0).normal(size=(40, 3))
    for case, bad in BAD_ARRAYS.items():
        if case != "missing files":
            yield Probe(
                "LatentOutlierDetector.fit",
                case,
                lambda b=bad: LatentOutlierDetector().fit(b(Z)),
                accepted_because="numbers held as objects, as scikit-learn takes them"
                if case == "objects"
                else "",
            )
    detector = LatentOutlierDetector().fit(Z)
    yield Probe(
        "LatentOutlierDetector.predict",
        "two columns for three",
        lambda: detector.predict(Z[:, :2]),
    )
    yield Probe("LatentOutlierDetector.predict", "None", lambda: detector.predict(None))
    yield Probe(
        "LatentOutlierDetector(n_sigma=0)",
        "fit",
        lambda: LatentOutlierDetector(n_sigma=0).fit(Z),
    )
    table = pd.DataFrame(Z, columns=["vae0", "vae1", "vae2"]).assign(
        id=[f"g{i}" for i in range(40)]
    )
    for case, call in {
        "n_neighbors zero": lambda: similar_galaxies(table, 0, n_neighbors=0),
        "n_neighbors more than rows": lambda: similar_galaxies(
            table, 0, n_neighbors=100
        ),
        "row past the end": lambda: similar_galaxies(table, 40),
        "query of two columns": lambda: similar_galaxies(table, np.zeros((1, 2))),
        "query text": lambda: similar_galaxies(table, "g3"),
        "query a fraction": lambda: similar_galaxies(table, 1.5),
        "unknown metric": lambda: similar_galaxies(table, 0, metric="hamming-ish"),
        "empty table": lambda: similar_galaxies(table.iloc[:0], 0),
        "no latent columns": lambda: similar_galaxies(table[["id"]], 0),
        "None": lambda: similar_galaxies(None, 0),
    }.items():
        yield Probe("similar_galaxies", case, call)
    yield Probe(
        "similar_galaxies",
        "negative row",
        lambda: similar_galaxies(table, -1),
        accepted_because="a negative row counts from the end, as in numpy",
    )
    for case, call in {
        "column counts differ": lambda: mmd2(Z, Z[:, :2]),
        "one sample": lambda: mmd2(Z[:1], Z[:1]),
        "None": lambda: mmd2(None, Z),
        "paired lengths differ": lambda: mmd2(Z, Z[:5], paired=True),
        "unknown kernel": lambda: mmd2(Z, Z, kernel="laplace-ish"),
    }.items():
        yield Probe("mmd2", case, call)
    yield Probe(
        "mmd2_permutation_test",
        "column counts differ",
        lambda: mmd2_permutation_test(Z, Z[:, :2]),
    )
    for case, call in {
        "column counts differ": lambda: domain_auc(Z, Z[:, :2]),
        "cv larger than samples": lambda: domain_auc(Z[:3], Z[:3], cv=5),
        "cv one": lambda: domain_auc(Z, Z, cv=1),
        "paired lengths differ": lambda: domain_auc(Z, Z[:5], paired=True),
    }.items():
        yield Probe("domain_auc", case, call)
    props = pd.DataFrame({"mass": np.arange(40.0)})
    for case, call in {
        "rows differ": lambda: latent_correlations(Z, props.iloc[:5]),
        "text property": lambda: latent_correlations(Z, props.assign(mass="x")),
        "unknown sort": lambda: latent_correlations(Z, props, sort_by="kendall"),
        "names of another length": lambda: latent_correlations(
            Z, props, latent_names=["a"]
        ),
    }.items():
        yield Probe("latent_correlations", case, call)


def model_probes(images, fitted, tmp):
    """Inspection, persistence and survey calls on a fitted model."""
    from skgalvae import VAETransformer, load_pretrained, save_pretrained
    from skgalvae.inspection import interpolate_galaxies, latent_traversals
    from skgalvae.survey import encode_survey, read_latents, write_latents

    unfitted = VAETransformer(n_latent=2)
    for case, call in {
        "dims past n_latent": lambda: latent_traversals(fitted, dims=[5]),
        "n_steps zero": lambda: latent_traversals(fitted, n_steps=0),
        "unknown reference": lambda: latent_traversals(fitted, reference="mode"),
        "Z of another width": lambda: latent_traversals(fitted, np.zeros((4, 3))),
        "unfitted model": lambda: latent_traversals(unfitted),
    }.items():
        yield Probe("latent_traversals", case, call)
    for case, call in {
        "start of another side": lambda: interpolate_galaxies(
            fitted, images[0, :, :16, :16], images[1]
        ),
        "n_steps one": lambda: interpolate_galaxies(
            fitted, images[0], images[1], n_steps=1
        ),
        "unknown method": lambda: interpolate_galaxies(
            fitted, images[0], images[1], method="cubic"
        ),
    }.items():
        yield Probe("interpolate_galaxies", case, call)
    text_file = Path(tmp, "notes.txt")
    text_file.write_text("not a model\n")
    for case, call in {
        "unfitted model": lambda: save_pretrained(unfitted, Path(tmp, "u")),
        "onto a file": lambda: save_pretrained(fitted, text_file),
        "not an estimator": lambda: save_pretrained("model", Path(tmp, "s")),
    }.items():
        yield Probe("save_pretrained", case, call)
    for case, call in {
        "missing directory": lambda: load_pretrained(Path(tmp, "nowhere")),
        "a text file": lambda: load_pretrained(text_file),
        "an empty directory": lambda: load_pretrained(
            Path(tmp).joinpath("empty").mkdir() or Path(tmp, "empty")
        ),
    }.items():
        yield Probe("load_pretrained", case, call)
    out = Path(tmp, "t.zarr")
    for case, call in {
        "unfitted model": lambda: encode_survey(
            unfitted, images, Path(tmp, "a.zarr"), progress=False
        ),
        "not a model": lambda: encode_survey(
            "model", images, Path(tmp, "b.zarr"), progress=False
        ),
        "unknown suffix": lambda: encode_survey(
            fitted, images, Path(tmp, "c.txt"), progress=False
        ),
        "batch_size zero": lambda: encode_survey(
            fitted, images, Path(tmp, "d.zarr"), batch_size=0, progress=False
        ),
        "ids of another length": lambda: encode_survey(
            fitted, images, Path(tmp, "e.zarr"), ids=[1, 2], progress=False
        ),
        "n_readers zero": lambda: encode_survey(
            fitted, images, Path(tmp, "f.zarr"), n_readers=0, progress=False
        ),
        "unknown format": lambda: encode_survey(
            fitted, images, Path(tmp, "g.zarr"), format="hdf5", progress=False
        ),
        "source None": lambda: encode_survey(
            fitted, None, Path(tmp, "h.zarr"), progress=False
        ),
        "key for an array": lambda: encode_survey(
            fitted, images, Path(tmp, "i.zarr"), key="images", progress=False
        ),
        "another side": lambda: encode_survey(
            fitted, images[:, :, :16, :16], out, progress=False
        ),
    }.items():
        yield Probe("encode_survey", case, call)
    for case, call in {
        "missing": lambda: read_latents(Path(tmp, "none.zarr")),
        "a text file": lambda: read_latents(text_file),
        "an empty directory": lambda: read_latents(Path(tmp, "empty")),
    }.items():
        yield Probe("read_latents", case, call)
    for case, call in {
        "not a table": lambda: write_latents("latents", Path(tmp, "w.fits")),
        "unknown suffix": lambda: write_latents(
            fitted.transform(images), Path(tmp, "w.xlsx")
        ),
        "an array": lambda: write_latents(np.zeros((3, 2)), Path(tmp, "w2.fits")),
    }.items():
        yield Probe("write_latents", case, call)


def reader_probes(tmp):
    """Bad files and settings for the readers."""
    from astropy.io import fits

    from skgalvae import VAETransformer
    from skgalvae.io import FITSDataset, ImageFileDataset, read_fits, read_images

    good = Path(tmp, "good.fits")
    fits.PrimaryHDU(np.zeros((3, 32, 32), np.float32)).writeto(good)
    other = Path(tmp, "other.fits")
    fits.PrimaryHDU(np.zeros((3, 16, 16), np.float32)).writeto(other)
    table = Path(tmp, "table.fits")
    fits.BinTableHDU.from_columns([fits.Column("a", "E", array=[1.0])]).writeto(table)
    empty = Path(tmp, "empty.fits")
    fits.PrimaryHDU().writeto(empty)
    text = Path(tmp, "cutout.fits.txt")
    text.write_text("hello")
    not_fits = Path(tmp, "fake.fits")
    not_fits.write_text("SIMPLE  = nonsense")
    for case, call in {
        "no paths": lambda: read_fits([]),
        "a missing file": lambda: read_fits([good, Path(tmp, "gone.fits")]),
        "sides differ": lambda: read_fits([good, other]),
        "a table, no image": lambda: read_fits([table]),
        "a header without data": lambda: read_fits([empty]),
        "text named .fits": lambda: read_fits([not_fits]),
        "hdu past the end": lambda: read_fits([good], hdu=4),
        "size zero": lambda: read_fits([good], size=0),
        "size larger than the image, crop": lambda: read_fits([good], size=64),
        "unknown resize": lambda: read_fits([good], resize="nearest-ish"),
        "unknown nan_policy": lambda: read_fits([good], nan_policy="drop"),
        "bands of another count": lambda: read_fits([good], bands=["g", "r"]),
        "None": lambda: read_fits(None),
    }.items():
        yield Probe("read_fits", case, call)
    for case, call in {
        "no paths, fitted": lambda: VAETransformer(max_epochs=1).fit(FITSDataset([])),
        "None": lambda: FITSDataset(None),
        "a number among the paths": lambda: FITSDataset([good, 3]),
        "size negative": lambda: FITSDataset([good], size=-1),
        "num_workers negative": lambda: FITSDataset([good], num_workers=-1),
        "index past the end": lambda: FITSDataset([good])[3],
    }.items():
        yield Probe("FITSDataset", case, call)
    for case, call in {
        "no paths": lambda: read_images([]),
        "a text file": lambda: read_images([text]),
        "a missing file": lambda: read_images([Path(tmp, "gone.png")]),
    }.items():
        yield Probe("read_images", case, call)
    yield Probe(
        "ImageFileDataset",
        "no paths, fitted",
        lambda: VAETransformer(max_epochs=1).fit(ImageFileDataset([])),
    )


def more_probes(images, fitted, tmp):
    """Domains, mixtures, stretches, crops, datasets and special files."""
    from sklearn.base import clone
    from sklearn.decomposition import PCA

    from skgalvae import (
        DomainAdaptedVAETransformer,
        GMMVAETransformer,
        ReconstructionOutlierDetector,
    )
    from skgalvae.datasets import make_blobs_images, make_galaxies
    from skgalvae.inspection import invariant_latents
    from skgalvae.io import FITSDataset, read_fits, read_path_list
    from skgalvae.preprocessing import (
        AstropyStretch,
        BandScaler,
        CenterCrop,
        MTFStretch,
        Resize,
    )
    from skgalvae.survey import encode_survey

    small = dict(n_latent=2, max_epochs=1, batch_size=8)
    n = len(images)
    domains = {
        "None": None,
        "another length": np.r_[np.ones(n // 2), -np.ones(n // 2)][:-1],
        "one survey only": np.ones(n, dtype=int),
        "text": np.array(["src", "tgt"] * (n // 2)),
        "NaN": np.r_[np.ones(n - 1), np.nan],
        "fractions": np.r_[np.ones(n // 2), -np.ones(n // 2)] * 0.5,
        "two dimensions": np.ones((n, 2), dtype=int),
    }
    for case, domain in domains.items():
        yield Probe(
            "DomainAdaptedVAETransformer.fit",
            f"sample_domain {case}",
            lambda d=domain: DomainAdaptedVAETransformer(**small).fit(
                images, sample_domain=d
            ),
        )
    yield Probe(
        "DomainAdaptedVAETransformer.fit",
        "X_target of another side",
        lambda: DomainAdaptedVAETransformer(**small).fit(
            images, X_target=images[:, :, :16, :16]
        ),
    )
    for case, k in {"zero": 0, "more than samples": 100, "text": "2"}.items():
        yield Probe(
            "GMMVAETransformer.fit",
            f"n_components {case}",
            lambda k=k: GMMVAETransformer(n_components=k, **small).fit(images),
        )
    yield Probe(
        "ReconstructionOutlierDetector.fit",
        "a PCA instead of a VAE",
        lambda: ReconstructionOutlierDetector(PCA(2)).fit(images.reshape(n, -1)),
    )
    fitted_steps = {
        "BandScaler": BandScaler().fit(images),
        "MTFStretch": MTFStretch().fit(images),
        "CenterCrop": CenterCrop(16).fit(images),
        "Resize": Resize(16).fit(images),
    }
    for name, step in fitted_steps.items():
        yield Probe(
            f"{name}.transform",
            "another band count",
            lambda s=step: s.transform(images[:, :1]),
        )
        yield Probe(f"{name}.transform", "None", lambda s=step: s.transform(None))
    for case, make in {
        "crop larger than the image": lambda: CenterCrop(64).fit(images),
        "crop size zero": lambda: CenterCrop(0).fit(images),
        "resize size text": lambda: Resize("16").fit(images),
        "unknown resize method": lambda: Resize(16, method="lanczos-ish").fit(images),
        "AstropyStretch of a number": lambda: AstropyStretch(3).fit(images),
        "BandScaler unknown scope": lambda: BandScaler(scope="galaxy").fit(images),
        "BandScaler inverted percentiles": lambda: BandScaler(
            method="percentile", percentiles=(99, 1)
        ).fit(images),
    }.items():
        yield Probe("preprocessing", case, make)
    for case, call in {
        "statistics unknown": lambda: invariant_latents(
            fitted, images, statistics=("median",)
        ),
        "statistics empty": lambda: invariant_latents(fitted, images, statistics=()),
        "sample with a text seed": lambda: fitted.sample(2, random_state="x"),
        "reconstruction_error unknown metric": lambda: fitted.reconstruction_error(
            images, metric="psnr"
        ),
        "pose of None": lambda: fitted.pose(None),
        "score_samples_ssim of another side": lambda: fitted.score_samples_ssim(
            images[:, :, :16, :16]
        ),
        "set_output unknown": lambda: (
            clone(fitted).set_output(transform="polars-ish").fit_transform(images)
        ),
    }.items():
        yield Probe("VAETransformer (more)", case, call)
    for case, call in {
        "make_galaxies n_samples zero": lambda: make_galaxies(0),
        "make_blobs_images negative": lambda: make_blobs_images(-1),
    }.items():
        yield Probe("datasets", case, call)
    listing = Path(tmp, "listing.txt")
    listing.write_text("# nothing\n\n")
    for case, call in {
        "missing listing": lambda: read_path_list(Path(tmp, "nope.txt")),
        "listing with no paths": lambda: read_path_list(listing),
    }.items():
        yield Probe("read_path_list", case, call)
    # Special files named like cutouts: each read once in a process of its own.
    fifo = Path(tmp, "pipe.fits")
    os.mkfifo(fifo)
    zero = Path(tmp, "zero.fits")
    zero.symlink_to("/dev/zero")
    for case, path in {"a FIFO named .fits": fifo, "a link to /dev/zero": zero}.items():
        yield Probe(
            "read_fits",
            case,
            lambda p=path: read_fits([p]),
            isolated=True,
        )
        yield Probe(
            "encode_survey",
            case,
            lambda p=path: encode_survey(
                fitted, [p], Path(tmp, f"{p.stem}.parquet"), progress=False
            ),
            isolated=True,
        )
        yield Probe(
            "VAETransformer.fit",
            case,
            lambda p=path: type(fitted)(**small).fit(FITSDataset([p, p])),
            isolated=True,
        )


def _checked(call):
    """A probe body that must return True (a right result), not raise."""
    return dict(call=call, expects_result=True)


def regression_probes(tmp):
    """Resumes, ids, outputs, fitted values and units: each once silent."""
    import astropy.units as u
    import pandas as pd
    from astropy.io import fits
    from astropy.visualization import ManualInterval

    from skgalvae import LatentOutlierDetector, VAETransformer
    from skgalvae.inspection import similar_galaxies
    from skgalvae.io import FITSDataset
    from skgalvae.preprocessing import AstropyStretch
    from skgalvae.survey import encode_survey, write_latents

    rng = np.random.default_rng(0)
    X1 = rng.random((32, 1, 32, 32), dtype=np.float32)
    X2 = rng.random((32, 1, 32, 32), dtype=np.float32)
    small = dict(n_latent=2, hidden_dims=(8,), batch_size=16, random_state=0)
    checkpoint = Path(tmp, "checkpoint")
    VAETransformer(**small, max_epochs=2, checkpoint_dir=checkpoint).fit(X1)
    model = VAETransformer(**small, max_epochs=1).fit(X1)
    probes = {
        ("checkpoint_dir", "other data of the same shape"): lambda: VAETransformer(
            **small, max_epochs=2, checkpoint_dir=checkpoint
        ).fit(X2),
        ("checkpoint_dir", "uint8 after floats"): lambda: VAETransformer(
            **small, max_epochs=2, checkpoint_dir=checkpoint
        ).fit((X1 * 255).astype(np.uint8)),
        ("checkpoint_dir", "fewer epochs than saved"): lambda: VAETransformer(
            **small, max_epochs=1, checkpoint_dir=checkpoint
        ).fit(X1),
        ("VAETransformer.fit", "warm start with another width"): lambda: (
            VAETransformer(**small, max_epochs=1, warm_start=True)
            .fit(X1)
            .set_params(hidden_dims=(16,))
            .fit(X1)
        ),
    }
    for (entry, case), call in probes.items():
        yield Probe(entry, case, call)
    # encode_survey: an interrupted table resumed with another source.
    for suffix in (".zarr", ".parquet"):
        out = Path(tmp, f"half{suffix}")
        encode_survey(model, X1[:16], out, batch_size=8, progress=False)
        yield Probe(
            "encode_survey",
            f"resume with another array ({suffix})",
            lambda o=out: encode_survey(
                model, X2[:16], o, batch_size=8, progress=False
            ),
        )
        yield Probe(
            "encode_survey",
            f"resume with ids that differ after row 8 ({suffix})",
            lambda o=out: encode_survey(
                model,
                X1[:16],
                o,
                ids=[f"g{i}" if i < 8 else f"h{i}" for i in range(16)],
                batch_size=8,
                progress=False,
            ),
        )
        for case, ids in {
            "float ids": np.linspace(0.1, 1.6, 16),
            "uint64 ids past 2**63": np.arange(16, dtype=np.uint64) + 2**63,
            "a NaN id": np.r_[np.arange(15.0), np.nan].astype(object),
            "date ids": np.arange(16).astype("M8[D]"),
        }.items():
            yield Probe(
                "encode_survey",
                f"{case} ({suffix})",
                lambda i=ids, c=case, x=suffix: encode_survey(
                    model, X1[:16], Path(tmp, f"{c}{x}"), ids=i, progress=False
                ),
            )
        empty = Path(tmp, f"empty{suffix}")
        empty.mkdir()
        yield Probe(
            "encode_survey",
            f"an empty directory left by a failed start ({suffix})",
            lambda e=empty: encode_survey(model, X1, e, progress=False),
        )
    table = pd.DataFrame({"id": ["a", "a ", "b", "c"], "vae0": np.zeros(4)})
    yield Probe(
        "write_latents",
        "ids 'a' and 'a ' to FITS",
        lambda: write_latents(table, Path(tmp, "t.fits")),
    )
    yield Probe(
        "write_latents",
        "non-ASCII ids to FITS",
        lambda: write_latents(
            table.assign(id=["a", "b", "c", "é"]), Path(tmp, "u.fits")
        ),
    )
    # Files scaled unlike the fit, through a lazy collection.
    bright = []
    for i in range(4):
        path = Path(tmp, f"bright{i}.fits")
        fits.PrimaryHDU(X1[i] * 5000).writeto(path)
        bright.append(path)
    yield Probe(
        "VAETransformer.transform",
        "FITS files x5000",
        lambda: model.transform(FITSDataset(bright)),
    )
    yield Probe("VAETransformer.score", "FITS files x5000", lambda: model.score(bright))
    masked = np.ma.masked_array(X1, mask=X1 > 0.999)
    yield Probe(
        "VAETransformer.fit",
        "masked values",
        lambda: VAETransformer(**small, max_epochs=1).fit(masked),
    )

    # Results that must be right, not refused.
    def changed_n_latent():
        clone = VAETransformer(**small, max_epochs=1).fit(X1).set_params(n_latent=5)
        frame = clone.set_output(transform="pandas").transform(X1[:4])
        return frame.shape == (4, 2) and clone.sample(2).shape == (2, 1, 32, 32)

    def big_endian():
        return np.array_equal(model.transform(X1.astype(">f4")), model.transform(X1))

    def reordered_columns():
        frame = pd.DataFrame(model.transform(X1[:4]), columns=["vae0", "vae1"])
        return np.array_equal(
            model.inverse_transform(frame[["vae1", "vae0"]]),
            model.inverse_transform(frame),
        )

    def units_converted():
        Z = rng.normal(size=(200, 2))
        detector = LatentOutlierDetector().fit(Z * u.m)
        return np.array_equal(
            detector.predict(Z[:5] * u.m), detector.predict((Z[:5] / 1000) * u.km)
        )

    def ids_in_the_index():
        frame = pd.DataFrame(rng.normal(size=(10, 2)), columns=["vae0", "vae1"])
        found = similar_galaxies(frame.set_axis([f"g{i}" for i in range(10)]), 0, 3)
        return str(found["id"].iloc[0]).startswith("g")

    for case, call in {
        "n_latent changed after fit": changed_n_latent,
        "big-endian images": big_endian,
        "latent columns reordered": reordered_columns,
        "latents in m queried in km": units_converted,
        "ids kept as the index": ids_in_the_index,
    }.items():
        yield Probe("fitted values", case, **_checked(call))
    latents = pd.DataFrame(rng.normal(size=(10, 2)), columns=["vae0", "vae1"])
    for case, call in {
        "a joined numeric column": lambda: similar_galaxies(
            latents.assign(redshift=1.0), 0, 3
        ),
        "cosine distance to a zero vector": lambda: similar_galaxies(
            latents.assign(vae0=0.0, vae1=0.0), 0, 3, metric="cosine"
        ),
        "AstropyStretch inverted interval": lambda: AstropyStretch(
            interval=ManualInterval(1, 0)
        ).fit_transform(X1),
        "a feature model scored on constant rows": lambda: (
            VAETransformer(n_latent=2, max_epochs=1, random_state=0)
            .fit(rng.random((40, 6)).astype(np.float32))
            .score(np.ones((4, 6), np.float32))
        ),
    }.items():
        yield Probe("small results", case, call)


def config_probes(tmp):
    """Study settings and the command line."""
    from skgalvae.cli import main
    from skgalvae.study import StudyConfig

    for case, call in {
        "latents (0, 5)": lambda: StudyConfig(latents=(0, 5)),
        "epochs 0": lambda: StudyConfig(epochs=0),
        "cv 0": lambda: StudyConfig(cv=0),
        "n_sigma -8": lambda: StudyConfig(n_sigma=-8),
        "batch_size 0": lambda: StudyConfig(batch_size=0),
        "no adaptation weights": lambda: StudyConfig(
            mmd_weights=(), fixed_mmd_weights=()
        ),
        "unknown field": lambda: StudyConfig(n_latents=4),
        "latents text": lambda: StudyConfig(latents="4,16"),
        "models unknown": lambda: StudyConfig(models=("resnet-50",)),
        "data unknown": lambda: StudyConfig(data="hsc"),
        "device unknown": lambda: StudyConfig(device="tpu"),
        "image_size odd": lambda: StudyConfig(image_size=33),
    }.items():
        yield Probe("StudyConfig", case, call)
    quick_text = Path(tmp, "quick.toml")
    quick_text.write_text('quick = "no"\n')
    settings = Path(tmp, "bad.toml")
    settings.write_text("epochs = [\n")
    unknown = Path(tmp, "unknown.toml")
    unknown.write_text("n_latents = 4\n")
    for case, argv in {
        "unknown command": ["galaxies"],
        'study with quick = "no" in its settings': [
            "study",
            "--config",
            str(quick_text),
        ],
        "study --epochs ten": ["study", "--epochs", "ten"],
        "study with an unreadable settings file": ["study", "--config", str(settings)],
        "study with an unknown setting": ["study", "--config", str(unknown)],
        "study with a missing settings file": [
            "study",
            "--config",
            str(Path(tmp, "no.toml")),
        ],
        "encode without a source": ["encode", "--model", str(Path(tmp, "m.joblib"))],
        "neighbours of a missing table": [
            "neighbours",
            str(Path(tmp, "none.parquet")),
            "g1",
        ],
    }.items():
        yield Probe("skgalvae (command)", case, lambda a=argv: main(a))


def run() -> list[Probe]:
    """Judge every probe; return them with their outcomes."""
    images = _images()
    fitted = _fitted(images)
    with tempfile.TemporaryDirectory() as tmp:
        groups = [
            image_estimator_probes(images, fitted),
            feature_probes(),
            model_probes(images, fitted, tmp),
            more_probes(images, fitted, tmp),
            regression_probes(tmp),
            reader_probes(tmp),
            config_probes(tmp),
        ]
        probes = []
        for group in groups:
            for probe in group:
                with contextlib.redirect_stderr(io.StringIO()):
                    (judge_isolated if probe.isolated else judge)(probe)
                probes.append(probe)
    return probes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write every outcome to this file")
    parser.add_argument(
        "--show",
        nargs="*",
        default=["deep", "silent"],
        help="print the probes with these outcomes (default: deep silent)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("SKGALVAE_PROGRESS", "0")
    probes = run()
    counts = Counter(p.outcome for p in probes)
    for probe in probes:
        if probe.outcome in args.show:
            print(f"[{probe.outcome}] {probe.entry} <- {probe.case}")
            print(f"    {probe.message}")
            if probe.where:
                print(f"    at {probe.where}")
    print(
        f"\n{len(probes)} probes: "
        + ", ".join(
            f"{counts[k]} {k}"
            for k in ("clear", "correct", "accepted", "deep", "silent", "hang")
        )
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "entry": p.entry,
                        "case": p.case,
                        "outcome": p.outcome,
                        "message": p.message,
                        "where": p.where,
                    }
                    for p in probes
                ],
                indent=1,
            )
        )
    return int(counts["clear"] + counts["correct"] + counts["accepted"] != len(probes))


if __name__ == "__main__":
    sys.exit(main())
