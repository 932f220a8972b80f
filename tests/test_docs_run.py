"""Every python snippet of the README and docs runs, as written, on small data.

The snippets of a page run in order in one namespace, in a fresh
interpreter and a scratch directory, as a reader would paste them. What a
page leaves to the reader (their images ``X``, FITS ``paths``, a
``catalog``, a fitted ``model``, a survey store on disk) is made here from
the simulator, and the sizes a snippet asks for are shrunk: the simulator
draws at most ``N_GALAXIES`` galaxies of ``SIDE`` pixels and every fit
trains one epoch. A few snippets need what a test cannot have (a download,
a cluster, several processes); they are listed in ``NOT_RUN`` with the
reason. ``python tests/test_docs_run.py PAGE`` runs one page.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import skgalvae.datasets
from skgalvae import DomainAdaptedVAETransformer, GMMVAETransformer
from skgalvae.vae._training import TrainingMixin

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
N_GALAXIES, SIDE = 40, 32

#: Snippets shown but not run here, and why.
NOT_RUN = {
    "docs/user_guide/data.md#5": "downloads GZ DECaLS (the fetcher is tested "
    "against a local server in test_gz_decals.py)",
    "docs/user_guide/scaling.md#1": "needs a dask scheduler at tcp://scheduler:8786",
    "docs/user_guide/scaling.md#2": "needs a SLURM cluster",
    "docs/user_guide/scaling.md#4": "runs under torchrun, one process per GPU "
    "(test_distributed.py runs the same fit in two processes)",
    "docs/user_guide/vae_transformer.md#0": "a signature, not code",
}

_make_galaxies = skgalvae.datasets.make_galaxies
_make_survey_pairs = skgalvae.datasets.make_survey_pairs


def _pages():
    """``{page: [(id, code), ...]}`` for the README and every docs page."""
    pages = {}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        if "_build" in page.parts:
            continue
        name = page.relative_to(ROOT).as_posix()
        blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL)
        if blocks:
            pages[name] = [(f"{name}#{i}", code) for i, code in enumerate(blocks)]
    return pages


# ----------------------------------------------------------- what pages assume
def _galaxies(n=N_GALAXIES):
    return _make_galaxies(n, image_size=SIDE, random_state=0)


def _stretched(images):
    from skgalvae.preprocessing import MTFStretch

    return MTFStretch().fit_transform(images)


def _first_level(data):
    """The simulated galaxies' kinds (elliptical, spiral, ...): a class label."""
    return data.params["morphology"].astype(str).to_numpy()


def _write_fits(folder, images, side, hdu_name="IMAGE"):
    """One FITS file per galaxy, ``side`` pixels a side, as cutout services write."""
    folder.mkdir(parents=True, exist_ok=True)
    repeat = side // images.shape[-1]
    paths = []
    for i, image in enumerate(images):
        image = image.repeat(repeat, axis=-1).repeat(repeat, axis=-2)
        header = fits.Header({"OBJID": 1000 + i, "RA": 150.0 + i / 100, "DEC": 2.0})
        path = folder / f"galaxy_{i:03d}.fits"
        fits.HDUList(
            [fits.PrimaryHDU(), fits.ImageHDU(image, header=header, name=hdu_name)]
        ).writeto(path)
        paths.append(str(path))
    return paths


def _fitted_pipeline(images, n_latent=4):
    from sklearn.pipeline import make_pipeline

    from skgalvae import VAETransformer
    from skgalvae.preprocessing import MTFStretch

    return make_pipeline(
        MTFStretch(), VAETransformer(n_latent=n_latent, random_state=0)
    ).fit(images)


def _survey_store(path, images, ids=None):
    """A survey on disk: images and their ids in a zarr group."""
    import zarr

    group = zarr.open_group(str(path), mode="w")
    group.create_array("images", data=images)
    group.create_array("objid", data=np.arange(len(images)) if ids is None else ids)


def _context(page):
    """What ``page`` assumes its reader has: names, and files in the cwd."""
    data = _galaxies()
    images, X = data.images, _stretched(data.images)
    if page == "docs/user_guide/astropy.md":
        from astropy import units as u

        from skgalvae.io import read_fits
        from skgalvae.survey import encode_survey

        paths = _write_fits(Path("cutouts"), images, side=64)
        encode_survey(_fitted_pipeline(read_fits(paths)), paths, "latents.parquet")
        return {
            "fluxes": images,
            "other_fluxes": images * u.nJy,
            "paths": paths,
        }
    if page == "docs/user_guide/data.md":
        for name in ("J1", "J2"):
            for band, image in zip("grz", images[0], strict=True):
                Path("cut").mkdir(exist_ok=True)
                fits.PrimaryHDU(image).writeto(f"cut/{name}_{band}.fits")
        paths = _write_fits(Path("cutouts"), images[:16], side=256)
        return {"catalog": data.votes, "paths": paths}
    if page in ("docs/user_guide/choosing_n_latent.md", "docs/user_guide/training.md"):
        return {"X": X, "y": _first_level(data)}
    if page == "docs/user_guide/clustering.md":
        return {"X": X}
    if page == "docs/user_guide/domain_adaptation.md":
        decals, bass = _make_survey_pairs(N_GALAXIES, image_size=SIDE, random_state=0)
        X_s, X_t = _stretched(decals.images), _stretched(bass.images)
        y = _first_level(decals)
        third = _stretched(_galaxies(12).images)
        return {
            "y": y,
            "X_both": np.concatenate([X_s, X_t]),
            "y_both": np.concatenate([y, y]),
            "domain": np.repeat([1, -1], len(X_s)),
            "X_all": np.concatenate([X_s[:20], X_t[:20], third]),
            "labels": np.repeat([1, -1, 2], [20, 20, len(third)]),
            "Z": np.zeros((3, 40), dtype=np.float32),
        }
    if page == "docs/user_guide/outliers_generation.md":
        from skgalvae import VAETransformer

        return {
            "images": images,
            "X": X,
            "vae": VAETransformer(n_latent=4, random_state=0).fit(X),
            "catalog": data.params,
        }
    if page == "docs/user_guide/persistence.md":
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.model_selection import GridSearchCV
        from sklearn.pipeline import make_pipeline

        pipe = _fitted_pipeline(images)
        search = GridSearchCV(
            make_pipeline(
                *[step for _, step in pipe.steps],
                RandomForestClassifier(n_estimators=10, random_state=0),
            ),
            {"vaetransformer__n_latent": [2]},
            cv=2,
        ).fit(images, _first_level(data))
        return {"pipe": pipe, "search": search, "images": images}
    if page == "docs/user_guide/scaling.md":
        import joblib

        joblib.dump(_fitted_pipeline(images), "morphology.joblib")
        _survey_store("legacy_dr10.zarr", images)
        return {}
    if page == "docs/user_guide/similarity.md":
        from skgalvae.survey import encode_survey

        model = _fitted_pipeline(images)
        # The page asks for rows 12 and 4051 of an encoded survey.
        survey = np.resize(images, (4100, *images.shape[1:]))
        _survey_store("survey.zarr", survey)
        encode_survey(
            model, "survey.zarr", "latents.parquet", key="images", ids="objid"
        )
        return {"model": model, "images": images}
    if page == "docs/user_guide/skada.md":
        decals, bass = _make_survey_pairs(N_GALAXIES, image_size=SIDE, random_state=0)
        y = np.unique(_first_level(decals), return_inverse=True)[1]
        return {
            "X": np.concatenate([decals.images, bass.images]),
            "X_bass": bass.images,
            "y_masked": np.concatenate([y, np.full(len(y), -1)]),  # -1: unknown
            "sample_domain": np.repeat([1, -1], N_GALAXIES),
        }
    return {}


# ------------------------------------------------------------------ shrinking
def _small_galaxies(n, *args, image_size=64, **kwargs):
    return _make_galaxies(min(n, N_GALAXIES), *args, image_size=SIDE, **kwargs)


def _small_pairs(n, *args, image_size=64, **kwargs):
    return _make_survey_pairs(min(n, N_GALAXIES), *args, image_size=SIDE, **kwargs)


def _one_epoch(fit):
    def fit_one_epoch(self, *args, **kwargs):
        self.max_epochs = 1
        if hasattr(self, "pretrain_epochs"):
            self.pretrain_epochs = 1
        return fit(self, *args, **kwargs)

    return fit_one_epoch


def run_page(page):
    """Run every snippet of ``page`` in order, in this process, on small data."""
    skgalvae.datasets.make_galaxies = _small_galaxies
    skgalvae.datasets.make_survey_pairs = _small_pairs
    for cls in (TrainingMixin, DomainAdaptedVAETransformer, GMMVAETransformer):
        cls.fit = _one_epoch(cls.fit)
    namespace = {"__name__": "__main__", **_context(page)}
    snippets = [(i, code) for i, code in _pages()[page] if i not in NOT_RUN]
    assert snippets, f"{page}: every snippet is in NOT_RUN"
    for snippet_id, code in snippets:
        exec(compile(code, snippet_id, "exec"), namespace)


@pytest.mark.parametrize("page", sorted(_pages()))
def test_every_snippet_of_the_page_runs(page, tmp_path):
    # A fresh interpreter per page, as a reader's: what a snippet imports or
    # configures (skada turns on metadata routing when imported) starts as
    # it would for them, whatever other tests did.
    result = subprocess.run(
        [sys.executable, __file__, page],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, f"{page}:\n{result.stderr[-4000:]}"


def test_what_is_not_run_names_snippets_that_exist():
    ids = {snippet_id for blocks in _pages().values() for snippet_id, _ in blocks}
    assert set(NOT_RUN) <= ids


if __name__ == "__main__":
    run_page(sys.argv[1])
