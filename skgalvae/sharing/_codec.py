"""The JSON form of fitted state: arrays go to safetensors, the rest to JSON.

:class:`_Encoder` turns an estimator's ``__getstate__`` into JSON with its
numeric arrays set aside; :class:`_Decoder` undoes it. Only plain values,
arrays, units, astropy stretches and skorch histories have a form: nothing
that would need code to rebuild.
"""

from __future__ import annotations

import math

import numpy as np


class _Unsaved(Exception):
    """A value that has no JSON form."""


class _Encoder:
    """Turn a state dict into JSON, moving numeric arrays to ``arrays``."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.arrays = {}
        # Inside a training history, a value a callback logged that has no
        # JSON form is kept as its text: the history is a record, not state.
        self._in_history = False

    def encode(self, value, path):
        """Return the JSON form of ``value``; ``path`` names it in the arrays."""
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, (float, np.floating)):
            value = float(value)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, tuple):
            return {
                "__tuple__": [
                    self.encode(v, f"{path}/{i}") for i, v in enumerate(value)
                ]
            }
        if type(value).__name__ == "History" and type(value).__module__.startswith(
            "skorch"
        ):  # a list subclass: before plain lists
            self._in_history = True
            try:
                return {"__history__": self.encode(list(value), path)}
            finally:
                self._in_history = False
        if isinstance(value, list):
            return [self.encode(v, f"{path}/{i}") for i, v in enumerate(value)]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise _Unsaved(f"{path} has keys that are not text")
            return {k: self.encode(v, f"{path}/{k}") for k, v in value.items()}
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                key = f"{self.prefix}/{path}"
                self.arrays[key] = np.ascontiguousarray(value)
                return {"__array__": key}
            if value.dtype.kind in "OU" and all(isinstance(v, str) for v in value.flat):
                return {"__text_array__": value.tolist()}
        return self._encode_object(value, path)

    def _encode_object(self, value, path):
        module = type(value).__module__
        if module.startswith("astropy.units"):
            return {"__unit__": value.to_string()}
        if module.startswith("astropy.visualization"):
            # Stretches and intervals are a few numbers in their __dict__.
            attributes = {
                name: self.encode(setting, f"{path}/{name}")
                for name, setting in vars(value).items()
            }
            return {
                "__astropy_visualization__": type(value).__name__,
                "attributes": attributes,
            }
        if self._in_history:
            return repr(value)
        raise _Unsaved(f"{path} is a {type(value).__name__}")


class _Decoder:
    """Undo :class:`_Encoder` with the arrays read from safetensors."""

    def __init__(self, arrays, path="the weights"):
        self.arrays = arrays
        self.path = path

    def decode(self, value):
        """Return the Python value of a JSON form."""
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__tuple__" in value:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__float__" in value:
            return float(value["__float__"])
        if "__array__" in value:
            name = value["__array__"]
            if name not in self.arrays:
                raise ValueError(f"{self.path} holds no array {name!r}.")
            return self.arrays[name]
        if "__text_array__" in value:
            return np.asarray(value["__text_array__"], dtype=object)
        if "__unit__" in value:
            import astropy.units as u

            return u.Unit(value["__unit__"])
        if "__astropy_visualization__" in value:
            import astropy.visualization as visualization

            cls = getattr(visualization, value["__astropy_visualization__"])
            if not isinstance(cls, type) or not issubclass(
                cls, (visualization.BaseStretch, visualization.BaseInterval)
            ):
                raise ValueError(
                    f"{value['__astropy_visualization__']} is not a stretch"
                )
            instance = cls.__new__(cls)
            instance.__dict__.update(self.decode(value["attributes"]))
            return instance
        if "__history__" in value:
            from skorch.history import History

            return History(self.decode(value["__history__"]))
        return {k: self.decode(v) for k, v in value.items()}
