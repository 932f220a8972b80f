"""Correlations between latent dimensions and physical properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["latent_correlations"]

_COLUMNS = [
    "latent",
    "property",
    "n",
    "pearson_r",
    "pearson_p",
    "spearman_rho",
    "spearman_p",
]


def _latent_frame(Z, latent_names):
    """``Z`` as a float DataFrame with one named column per latent."""
    if isinstance(Z, pd.DataFrame):
        frame = Z
    else:
        values = np.asarray(Z)
        if values.ndim != 2:
            raise ValueError(
                f"Z must be latents of shape (n_samples, n_latent); got shape "
                f"{values.shape}."
            )
        names = latent_names
        if names is None:
            names = [f"vae{i}" for i in range(values.shape[1])]
        if len(names) != values.shape[1]:
            raise ValueError(
                f"latent_names has {len(names)} names, but Z has "
                f"{values.shape[1]} latents."
            )
        frame = pd.DataFrame(values, columns=list(names))
    return _numeric_columns(frame, "Z")


def _property_frame(properties, n_samples):
    """Return the properties as a float DataFrame, from any table-like input."""
    if isinstance(properties, pd.Series):
        frame = properties.to_frame()
    elif isinstance(properties, pd.DataFrame):
        frame = properties
    elif hasattr(properties, "to_pandas"):  # astropy Table
        frame = properties.to_pandas()
    elif isinstance(properties, dict):
        frame = pd.DataFrame({k: np.asarray(v) for k, v in properties.items()})
    elif getattr(np.asarray(properties).dtype, "names", None):  # structured array
        frame = pd.DataFrame.from_records(np.asarray(properties))
    else:
        raise TypeError(
            "properties must be a pandas DataFrame or Series, an astropy Table, a "
            "dict of name -> array or a structured array, so that each property "
            f"has a name; got {type(properties).__name__}."
        )
    if len(frame) != n_samples:
        raise ValueError(
            f"properties has {len(frame)} rows, but Z has {n_samples} samples; "
            f"row i of both must be the same galaxy."
        )
    if frame.shape[1] == 0:
        raise ValueError("properties has no columns.")
    return _numeric_columns(frame, "properties")


def _numeric_columns(frame, input_name):
    """Check every column is numeric (bool counts as 0/1); return float64."""
    for name in frame.columns:
        column = frame[name]
        if not (
            pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
        ):
            raise TypeError(
                f"{input_name} column {name!r} has dtype {column.dtype}, not a "
                f"number; encode categories first (e.g. morphology == 'smooth')."
            )
    return frame.astype(np.float64).reset_index(drop=True)


def _check_missing(frame, input_name, nan_policy):
    if nan_policy == "omit":
        return
    for name in frame.columns:
        bad = np.flatnonzero(~np.isfinite(frame[name].to_numpy()))
        if len(bad):
            raise ValueError(
                f"{input_name} column {name!r} has {len(bad)} NaN or infinite "
                f"value(s), first at row {bad[0]}; pass nan_policy='omit' to use "
                f"the rows where both values are finite, pair by pair."
            )


def latent_correlations(
    Z,
    properties,
    *,
    latent_names=None,
    nan_policy: str = "raise",
    sort_by: str | None = "spearman",
) -> pd.DataFrame:
    """Pearson and Spearman correlations of each latent with each property.

    A tidy table with one row per (latent, property) pair, for questions like
    "which latent tracks the bulge fraction?". Pearson's ``r`` measures linear
    association; Spearman's ``rho`` (the Pearson correlation of the ranks)
    measures any monotonic one and is robust to the heavy tails of properties
    such as size or flux. The p-values are two-sided, from
    :func:`scipy.stats.pearsonr` and :func:`scipy.stats.spearmanr`, and are not
    corrected for the ``n_latent * n_properties`` tests in the table: multiply
    them by that number (Bonferroni) before calling any single pair
    significant.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_latent) or DataFrame
        Latents, e.g. :meth:`skgalvae.VAETransformer.transform` output. A
        DataFrame's columns name the latents.
    properties : DataFrame, Series, astropy Table, dict or structured array
        One numeric column per property, row ``i`` belonging to the galaxy of
        ``Z[i]``. Boolean columns count as 0/1.
    latent_names : sequence of str or None, default=None
        Names of the latents when ``Z`` is an array; by default ``vae0``,
        ``vae1``, ... as :meth:`~skgalvae.VAETransformer.get_feature_names_out`.
    nan_policy : {"raise", "omit"}, default="raise"
        ``"raise"``: NaN or infinite values are an error naming the column and
        row. ``"omit"``: each pair uses the rows where both values are finite,
        and the ``n`` column says how many that was.
    sort_by : {"spearman", "pearson"} or None, default="spearman"
        Order the rows by the absolute value of that coefficient, strongest
        first; ``None`` keeps latent-major order.

    Returns
    -------
    pandas.DataFrame
        Columns ``latent``, ``property``, ``n`` (rows used), ``pearson_r``,
        ``pearson_p``, ``spearman_rho`` and ``spearman_p``. A pair in which
        either side is constant has NaN coefficients and p-values.

    See Also
    --------
    skgalvae.datasets.make_galaxies : Its ``params`` are true physical
        properties to test a latent space against.

    Examples
    --------
    >>> import numpy as np
    >>> from skgalvae.inspection import latent_correlations
    >>> rng = np.random.default_rng(0)
    >>> size = rng.lognormal(size=200)
    >>> Z = np.column_stack([np.log(size), rng.normal(size=200)])
    >>> table = latent_correlations(Z, {"size": size})
    >>> table[["latent", "property", "spearman_rho"]].round(2)
      latent property  spearman_rho
    0   vae0     size          1.00
    1   vae1     size         -0.11
    """
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit'; got {nan_policy!r}.")
    if sort_by not in ("spearman", "pearson", None):
        raise ValueError(
            f"sort_by must be 'spearman', 'pearson' or None; got {sort_by!r}."
        )
    latents = _latent_frame(Z, latent_names)
    props = _property_frame(properties, len(latents))
    _check_missing(latents, "Z", nan_policy)
    _check_missing(props, "properties", nan_policy)

    rows = []
    for latent in latents.columns:
        z = latents[latent].to_numpy()
        for prop in props.columns:
            p = props[prop].to_numpy()
            use = np.isfinite(z) & np.isfinite(p)
            rows.append((latent, prop, int(use.sum()), *_coefficients(z[use], p[use])))
    table = pd.DataFrame(rows, columns=_COLUMNS)
    if sort_by is not None:
        key = "spearman_rho" if sort_by == "spearman" else "pearson_r"
        order = np.argsort(-table[key].abs().fillna(-1).to_numpy(), kind="stable")
        table = table.iloc[order].reset_index(drop=True)
    return table


def _coefficients(z, p):
    """``(pearson_r, pearson_p, spearman_rho, spearman_p)``; NaN when undefined."""
    if len(z) < 3 or np.ptp(z) == 0 or np.ptp(p) == 0:
        return (np.nan,) * 4
    pearson = stats.pearsonr(z, p)
    spearman = stats.spearmanr(z, p)
    return (
        float(pearson.statistic),
        float(pearson.pvalue),
        float(spearman.statistic),
        float(spearman.pvalue),
    )
