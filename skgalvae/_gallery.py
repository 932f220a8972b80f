"""What every gallery example shares: sizes, output directory, device, model cache.

It ships with the package, so an example downloaded alone runs as it does in
the gallery. An example runs at sizes whose figures show the real behaviour
(minutes on a laptop CPU). On its command line, ``--quick`` shrinks them to a
smoke run of seconds (what the tests run), ``--out DIR`` picks the output
directory and ``--device`` the torch device.

Where the environment variable ``SKGALVAE_EXAMPLE_CACHE`` names a directory
(the documentation build sets it to ``docs/_cache``), fitted models are kept
there as joblib files named by :func:`joblib.hash` of the estimator, the data
and the skgalvae version: a second run with the same inputs loads them
instead of training again. Delete the directory to train anew.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import joblib

import skgalvae

CACHE_VARIABLE = "SKGALVAE_EXAMPLE_CACHE"


class ExampleSettings:
    """The command-line settings of one example run.

    Parameters
    ----------
    name : str
        The example's name, for its output and cache directories.
    quick : bool
        Whether to run the smoke sizes.
    out : str
        The output directory; made if missing.
    device : str
        The torch device for the estimators.
    """

    def __init__(self, name: str, quick: bool, out: str, device: str):
        self.quick = quick
        self.device = device
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        cache = os.environ.get(CACHE_VARIABLE)
        self.cache_dir = None if cache is None or quick else Path(cache) / name

    def sizes(self, full: dict, quick: dict) -> tuple:
        """Return the values of ``full``, or of ``quick`` in a smoke run."""
        chosen = quick if self.quick else full
        if chosen.keys() != full.keys():
            raise ValueError(f"quick sizes {sorted(quick)} != full {sorted(full)}")
        return tuple(chosen.values())

    def fit(self, estimator, X, y=None, **fit_params):
        """``estimator.fit(X, y, **fit_params)``, cached where a cache is set."""
        if self.cache_dir is None:
            return estimator.fit(X, y, **fit_params)
        # A new skgalvae version trains anew: it is part of the key.
        key = joblib.hash((estimator, X, y, fit_params, skgalvae.__version__))
        path = self.cache_dir / f"{type(estimator).__name__}-{key}.joblib"
        if path.exists():
            return joblib.load(path)
        fitted = estimator.fit(X, y, **fit_params)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        joblib.dump(fitted, partial)
        partial.replace(path)  # never a half-written model under the final name
        return fitted


def example_settings(name: str) -> ExampleSettings:
    """Read ``--quick``, ``--out`` and ``--device`` from the command line.

    Parameters
    ----------
    name : str
        The example's name (its file name without ``.py``).

    Returns
    -------
    ExampleSettings
    """
    parser = argparse.ArgumentParser(prog=f"{name}.py")
    parser.add_argument("--quick", action="store_true", help="a smoke run: seconds")
    parser.add_argument("--out", default=f"example_output/{name}", help="output dir")
    parser.add_argument("--device", default="auto", help="torch device")
    args = parser.parse_args(sys.argv[1:])
    return ExampleSettings(name, args.quick, args.out, args.device)
