"""The study's stage cache: a stage's key is made of what it reads.

Each cached stage body declares the :class:`StudyConfig` fields it reads
(its ``reads`` attribute); its cache key (:func:`stage_key`) is made of those
(and of its array and model arguments, which joblib hashes), and it sees a
config that refuses any other field (:class:`_DeclaredConfig`), so no
setting can change a result unnoticed.
"""

from __future__ import annotations

import os

from joblib import Memory

from .._version import __version__
from ._config import STUDY_FIELDS

__all__ = ["stage_cache", "stage_key"]


def _file_stamp(path):
    """Size and modification time: a changed input file invalidates the cache."""
    if path is None or not os.path.exists(path):
        return None
    stat = os.stat(path)
    return (str(path), stat.st_size, stat.st_mtime_ns)


# The StudyConfig fields that hold paths: the key holds their files' stamps.
_PATH_FIELDS = ("data_path", "catalog_path")


class _DeclaredConfig:
    """The :class:`StudyConfig` as one stage sees it: its declared fields only.

    Reading another field raises, naming the stage: a field missing from a
    stage's ``reads`` would be missing from its cache key, and a re-run would
    serve a stale result. Methods run on this view, so the fields they read
    are checked too.
    """

    def __init__(self, config, reads, stage):
        self._config, self._reads, self._stage = config, frozenset(reads), stage

    def __getattr__(self, name):
        if name in STUDY_FIELDS and name not in self._reads:
            raise AttributeError(
                f"The study stage {self._stage!r} reads config.{name} but does not "
                f"declare it in {self._stage}.reads, so its cache key would "
                f"ignore it; add it there."
            )
        attribute = getattr(type(self._config), name, None)
        if callable(attribute):
            return attribute.__get__(self)
        return getattr(self._config, name)


def stage_key(config, reads):
    """Return the cache key of a stage that reads the fields ``reads``.

    Paths enter by their files' size and modification time, so that a changed
    input file invalidates the cache; the package version enters too, since a
    new skgalvae may compute a stage differently.
    """
    key = {"skgalvae": __version__}
    for name in reads:
        value = getattr(config, name)
        key[name] = _file_stamp(value) if name in _PATH_FIELDS else value
    return key


def stage_cache(config, directory):
    """Return ``cached(body, *args)``: run a stage body once per cache key.

    ``directory`` None computes every time.
    """
    memory = Memory(directory, verbose=0)

    def cached(function, *args):
        """Run a cached stage body on ``args``: computed once per key."""
        body = memory.cache(function, ignore=["config"])
        view = _DeclaredConfig(config, function.reads, function.__name__.strip("_"))
        return body(stage_key(config, function.reads), *args, config=view)

    return cached
