"""The unit policy: astropy Quantities are converted explicitly, never stripped.

An estimator fitted on a :class:`~astropy.units.Quantity` remembers its unit
in ``input_unit_`` and works on the values in that unit. Later data is
converted to it (``nJy`` given to a model fitted in ``nanomaggy`` is scaled
by 1/3.631), a unit that cannot be converted is refused, and so is data
whose unit-ness differs from the fit's (a Quantity to a model fitted on plain
numbers, or plain numbers to a model fitted on a Quantity): in both cases
the numbers' meaning would be a guess. Decoded images come back as
Quantities in ``input_unit_``; latents and stretched images are plain
numbers (they have no unit).
"""

from __future__ import annotations


def is_quantity(X) -> bool:
    """Whether ``X`` is an astropy ``Quantity`` (without importing astropy)."""
    return type(X).__module__.startswith("astropy.units") and hasattr(X, "unit")


def refuse_quantity(X, input_name, caller):
    """Raise if ``X`` is a Quantity: functions take plain numbers.

    Parameters
    ----------
    X : object
        The argument.
    input_name : str
        Its name, for the message.
    caller : str
        The function or estimator, for the message.

    Raises
    ------
    TypeError
        If ``X`` is an astropy Quantity.
    """
    if is_quantity(X):
        raise TypeError(
            f"{input_name} is an astropy Quantity in {X.unit}; {caller} takes plain "
            f"numbers here. Pass {input_name}.to_value(unit) in the unit you mean, "
            f"so the numbers' scale is your choice, not a guess."
        )


def strip_unit(estimator, X, *, reset, input_name="X"):
    """Return ``X``'s values in the estimator's input unit, checking the policy.

    Parameters
    ----------
    estimator : estimator
        At ``reset``, ``input_unit_`` is set on it (None for plain numbers);
        otherwise it is read from it.
    X : array-like or Quantity
        The samples.
    reset : bool
        Whether this is the fit.
    input_name : str, default="X"
        Name of the argument, for messages.

    Returns
    -------
    array-like
        ``X`` itself, or the values of a Quantity in the input unit.

    Raises
    ------
    ValueError
        For a unit that does not convert to the fit's, or a mix of plain
        numbers and Quantities between fit and later calls.
    """
    name = type(estimator).__name__
    unit = X.unit if is_quantity(X) else None
    if reset:
        estimator.input_unit_ = unit
        return X if unit is None else X.value
    fit_unit = getattr(estimator, "input_unit_", None)
    if unit is None and fit_unit is None:
        return X
    if fit_unit is None:
        raise ValueError(
            f"{input_name} is a Quantity in {unit}, but {name} was fitted on plain "
            f"numbers, whose unit it cannot know; pass {input_name}.to_value(unit) "
            f"in the unit of the fit data, or refit on Quantities."
        )
    if unit is None:
        raise ValueError(
            f"{name} was fitted on a Quantity in {fit_unit}, but {input_name} has "
            f"no unit; pass {input_name} as a Quantity (e.g. "
            f"{input_name} * u.Unit({fit_unit.to_string()!r})) so it can be "
            f"converted."
        )
    from astropy.units import UnitConversionError

    try:
        return X.to_value(fit_unit)
    except UnitConversionError as exc:
        raise ValueError(
            f"{input_name} is in {unit}, which does not convert to {fit_unit}, the "
            f"unit {name} was fitted in: {exc}"
        ) from exc


def with_unit(estimator, values):
    """Give decoded ``values`` the estimator's input unit, if it has one."""
    unit = getattr(estimator, "input_unit_", None)
    if unit is None:
        return values
    from astropy.units import Quantity

    return Quantity(values, unit, copy=False)


class UnitAsText:
    """Store ``input_unit_`` as text when pickled, and read it back as a unit.

    An astropy unit is not plain data: skops cannot serialise one (it
    recurses without end), and a text form is what save_pretrained keeps
    anyway. Mixed in before scikit-learn's ``BaseEstimator``.
    """

    def __getstate__(self):
        state = dict(super().__getstate__())
        unit = state.get("input_unit_")
        if unit is not None and not isinstance(unit, str):
            state["input_unit_"] = unit.to_string()
        return state

    def __setstate__(self, state):
        state = dict(state)
        if isinstance(state.get("input_unit_"), str):
            from astropy.units import Unit

            state["input_unit_"] = Unit(state["input_unit_"])
        super().__setstate__(state)
