"""The knee of a score-versus-size curve: where more latents stop paying."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["KneeRefit", "find_knee"]


@validate_params(
    {
        "x": ["array-like"],
        "y": ["array-like"],
        "direction": [StrOptions({"increasing", "decreasing"})],
        "method": [StrOptions({"kneedle", "fraction"})],
        "fraction": [Interval(Real, 0, 1, closed="right")],
    },
    prefer_skip_nested_validation=True,
)
def find_knee(
    x,
    y,
    *,
    direction: str = "increasing",
    method: str = "kneedle",
    fraction: float = 0.9,
) -> int:
    """Index of the knee of a saturating curve ``y(x)``.

    Xu et al. (2023, Sec. 4.1) pick the latent dimension where SSIM versus
    ``n_latent`` bends over: beyond it, more latents buy little. Two rules:

    - ``"kneedle"`` (Satopaa et al. 2011): scale ``x`` and ``y`` to [0, 1],
      and take the point farthest above the straight line from the first to
      the last point, i.e. the maximum of ``y_scaled - x_scaled``. If no point
      lies above that line (no diminishing returns), the largest ``x`` is
      returned: the curve has not bent yet.
    - ``"fraction"``: the smallest ``x`` that reaches ``fraction`` of the
      whole gain from the worst to the best score, ``y >= y_worst + fraction *
      (y_best - y_worst)``. Easier to explain, but ``fraction`` is a choice.

    Both rules look at the scores in order of ``x``; ``y`` need not be
    monotonic (cross-validated scores are noisy).

    Parameters
    ----------
    x : array-like of shape (n_points,)
        Sizes, e.g. candidate ``n_latent`` values; distinct, any order.
    y : array-like of shape (n_points,)
        Scores at ``x``.
    direction : {"increasing", "decreasing"}, default="increasing"
        ``"increasing"`` when larger ``y`` is better (SSIM, accuracy),
        ``"decreasing"`` when smaller is better (a loss).
    method : {"kneedle", "fraction"}, default="kneedle"
        The rule, see above.
    fraction : float in (0, 1], default=0.9
        Share of the gain the ``"fraction"`` rule asks for.

    Returns
    -------
    int
        Index into ``x`` (in the order given) of the knee.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in length, have fewer than 2 points, hold a
        non-finite value, or ``x`` repeats a value.

    References
    ----------
    Satopaa, V., Albrecht, J., Irwin, D., Raghavan, B. (2011). Finding a
    "Kneedle" in a Haystack: Detecting Knee Points in System Behavior. ICDCS
    Workshops, 166-171.

    Examples
    --------
    >>> from skgalvae.model_selection import find_knee
    >>> n_latent = [10, 20, 40, 60, 80, 100]
    >>> ssim = [0.60, 0.70, 0.78, 0.79, 0.795, 0.80]
    >>> n_latent[find_knee(n_latent, ssim)]
    40
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"x and y must be 1-D and of equal length; got shapes {x.shape} and "
            f"{y.shape}."
        )
    if len(x) < 2:
        raise ValueError(f"A knee needs at least 2 points; got {len(x)}.")
    for name, values in (("x", x), ("y", y)):
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise ValueError(
                f"{name} holds non-finite values at indices {bad.tolist()}: "
                f"{values[bad].tolist()}."
            )
    if len(np.unique(x)) != len(x):
        raise ValueError(f"x repeats values: {x.tolist()}.")

    order = np.argsort(x)
    x_sorted, y_sorted = x[order], y[order]
    if direction == "decreasing":
        y_sorted = -y_sorted
    span = y_sorted.max() - y_sorted.min()
    if span == 0:  # flat: the smallest size does as well as any
        return int(order[0])
    y_scaled = (y_sorted - y_sorted.min()) / span
    if method == "fraction":
        return int(order[np.flatnonzero(y_scaled >= fraction - 1e-12)[0]])
    x_scaled = (x_sorted - x_sorted[0]) / (x_sorted[-1] - x_sorted[0])
    # Height above the chord from the first to the last point (the line y = x
    # when the curve is monotonic, as in Satopaa et al.).
    chord = y_scaled[0] + (y_scaled[-1] - y_scaled[0]) * x_scaled
    gap = y_scaled - chord
    if gap.max() <= 1e-12:
        return int(order[-1])
    return int(order[int(np.argmax(gap))])


class KneeRefit:
    """A ``refit`` callable for GridSearchCV that picks the knee, not the top.

    The best mean test score always sits at the largest ``n_latent`` when
    more latents keep improving reconstructions a little; the study chooses
    the knee instead. Pass an instance as ``GridSearchCV(..., refit=...)``:
    ``best_index_`` is then the knee candidate, and ``best_estimator_`` is
    refit with it.

    When the grid varies other parameters too, each value of ``param`` is
    represented by its best-scoring candidate.

    Parameters
    ----------
    param : str
        The size parameter, e.g. ``"n_latent"`` or ``"vae__n_latent"``.
    score : str, default="mean_test_score"
        The ``cv_results_`` column to read; with several scorers, e.g.
        ``"mean_test_ssim"``.
    direction, method, fraction
        Passed to :func:`find_knee`.

    Examples
    --------
    >>> from skgalvae.model_selection import KneeRefit
    >>> cv_results = {
    ...     "param_n_latent": [10, 20, 40, 60, 80, 100],
    ...     "mean_test_score": [0.60, 0.70, 0.78, 0.79, 0.795, 0.80],
    ... }
    >>> KneeRefit("n_latent")(cv_results)
    2
    """

    def __init__(
        self,
        param: str,
        *,
        score: str = "mean_test_score",
        direction: str = "increasing",
        method: str = "kneedle",
        fraction: float = 0.9,
    ):
        self.param = param
        self.score = score
        self.direction = direction
        self.method = method
        self.fraction = fraction

    def __call__(self, cv_results) -> int:
        """Index of the knee candidate in ``cv_results``.

        Parameters
        ----------
        cv_results : dict
            ``GridSearchCV.cv_results_``.

        Returns
        -------
        int
            The candidate's index.
        """
        key = f"param_{self.param}"
        for column in (key, self.score):
            if column not in cv_results:
                raise KeyError(
                    f"KneeRefit needs cv_results_[{column!r}]; the columns are "
                    f"{sorted(cv_results)}."
                )
        sizes = np.asarray(cv_results[key], dtype=np.float64)
        scores = np.asarray(cv_results[self.score], dtype=np.float64)
        sign = 1.0 if self.direction == "increasing" else -1.0
        best_per_size = {}
        for index, (size, score) in enumerate(zip(sizes, scores, strict=True)):
            held = best_per_size.get(size)
            if held is None or sign * score > sign * scores[held]:
                best_per_size[size] = index
        candidates = list(best_per_size.values())
        knee = find_knee(
            sizes[candidates],
            scores[candidates],
            direction=self.direction,
            method=self.method,
            fraction=self.fraction,
        )
        return int(candidates[knee])

    def __repr__(self) -> str:
        return (
            f"KneeRefit({self.param!r}, score={self.score!r}, method={self.method!r})"
        )
