import numpy as np
import pytest

from skgalvae import VAETransformer
from skgalvae.datasets import make_blobs_images


def small_vae(**params):
    """A VAETransformer sized for CPU tests: a few seconds per fit."""
    defaults = dict(n_latent=4, max_epochs=2, batch_size=32, random_state=0)
    return VAETransformer(**{**defaults, **params})


@pytest.fixture(name="small_vae", scope="session")
def small_vae_factory():
    """The :func:`small_vae` factory, for tests to build their own."""
    return small_vae


@pytest.fixture
def intake_calls(monkeypatch):
    """The ``input_name`` of every call of the estimators' intake, in order."""
    import skgalvae.vae._base as base_module

    calls = []
    check = base_module.check_samples

    def counting(*args, **kwargs):
        calls.append(kwargs.get("input_name"))
        return check(*args, **kwargs)

    monkeypatch.setattr(base_module, "check_samples", counting)
    return calls


@pytest.fixture(scope="session")
def blobs():
    return make_blobs_images(96, image_size=64, random_state=0)


@pytest.fixture(scope="session")
def images(blobs):
    return blobs.images


@pytest.fixture(scope="session")
def fitted_vae(images):
    return small_vae().fit(images)


@pytest.fixture(scope="session")
def features():
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(120, 2))
    mixing = rng.normal(size=(2, 6))
    return (latent @ mixing + 0.05 * rng.normal(size=(120, 6))).astype(np.float32)


@pytest.fixture(scope="session")
def two_surveys():
    """60 source and 60 target feature vectors (target shifted), two classes.

    Returns ``X, y, sample_domain``, the surveys interleaved as in a real
    catalogue.
    """
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(120, 2))
    X = (latent @ rng.normal(size=(2, 6))).astype(np.float32)
    X[60:] = 1.3 * X[60:] + 0.5  # the other survey's calibration
    y = (latent[:, 0] > 0).astype(int)
    domain = np.r_[np.ones(60), -np.ones(60)].astype(int)
    order = rng.permutation(120)
    return X[order], y[order], domain[order]


def pytest_configure(config):
    """Under pytest-xdist, each worker and its subprocesses run one thread.

    The workers already share the cores; more threads each would only make
    them wait for one another: an OpenMP pool of two threads beside a busy
    worker spins at its barriers (a docs page ran 8 times slower, 196 s
    against 25 s). The pools already loaded (torch's, and scikit-learn's own
    OpenMP and BLAS) are limited here; the environment carries the limit to
    those loaded later and to the interpreters that tests start (examples,
    docs pages, the study, the GPU suite).
    """
    import os

    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch
        from threadpoolctl import threadpool_limits

        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["MKL_NUM_THREADS"] = "1"
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        threadpool_limits(1)
        torch.set_num_threads(1)


#: Files holding single tests of minutes (the GPU suite's smoke run, the study
#: end to end, its interruption, the docs pages, the gallery), longest first.
#: They start first, so that under ``--dist loadfile`` (with the
#: ``--no-loadscope-reorder`` of pyproject.toml) no worker is left running one
#: alone at the end; a file missing here only runs later.
LONGEST_FILES = (
    "test_gpu_suite.py",
    "test_study.py",
    "test_fault_interrupts.py",
    "test_docs_run.py",
    "test_examples.py",
)


def pytest_collection_modifyitems(config, items):
    """Put the files of :data:`LONGEST_FILES` first, in that order."""
    rank = {name: i for i, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
