"""Attributes of a package imported on first use (PEP 562)."""

from __future__ import annotations

import importlib

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, where: dict[str, str], namespace: dict):
    """Return a package's ``__getattr__`` and ``__dir__`` for lazy attributes.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict of str to str
        Public name to the (relative) module defining it.
    namespace : dict
        The package's ``globals()``; an attribute is cached there once
        imported, so later lookups are plain.

    Returns
    -------
    __getattr__, __dir__ : callable
    """

    def __getattr__(name):
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
