"""Steps 5 and 6: performance score, national average, star percentage and stars.

No rounding happens before Step 6. All functions broadcast over a leading
draw axis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toolkit.errors import InputError
from toolkit.scoring.config import Band, MethodConfig, ProgramMethod, StarPercentageSpec

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt


def performance_score(
    scores: npt.ArrayLike, group_weights: npt.ArrayLike, scorable: npt.ArrayLike | None = None
) -> np.ndarray:
    """Step 5: ``S = sum_g W'_g * score_g``.

    Parameters
    ----------
    scores : array_like (..., E, K) or (K,)
        Standardised group scores (NaN where a group has no ratio).
    group_weights : array_like (E, K) or (K,)
        Adjusted group weights ``W'_g``; groups with weight 0 are left out.
    scorable : array_like of bool (E,), optional
        Entities with at least one unreduced measure; the others get NaN.

    Returns
    -------
    ndarray (..., E) or scalar array
        NaN where no group has weight or a weighted group has no score.

    Examples
    --------
    Site X, Step 5 (ESS; printed scores, Table 1 group weights):

    >>> round(float(performance_score([4.00, 3.00, 2.16, 1.97], [0.20, 0.40, 0.25, 0.15])), 4)
    2.8355
    """
    s = np.asarray(scores, dtype=float)
    gw = np.asarray(group_weights, dtype=float)
    on = np.broadcast_to(gw > 0, s.shape)
    total = np.where(on, gw * np.where(on, s, 0.0), 0.0).sum(axis=-1)
    missing = (on & np.isnan(s)).any(axis=-1) | ~on.any(axis=-1)
    total = np.where(missing, np.nan, total)
    if scorable is not None:
        total = np.where(np.asarray(scorable, dtype=bool), total, np.nan)
    return total


def national_average(score: npt.ArrayLike, population: npt.ArrayLike) -> np.ndarray:
    """Step 6: unweighted mean performance score over the population (the rated contracts).

    Parameters
    ----------
    score : array_like (..., E)
    population : array_like of bool (E,)

    Returns
    -------
    ndarray (...)

    Examples
    --------
    >>> float(national_average([2.5, 1.5, 9.0], [True, True, False]))
    2.0
    """
    s = np.asarray(score, dtype=float)[..., np.asarray(population, dtype=bool)]
    if s.shape[-1] == 0 or np.isnan(s).any():
        raise InputError("national average: no rated contract, or a rated contract without a performance score")
    return s.mean(axis=-1)


def _spec(spec: StarPercentageSpec | MethodConfig | ProgramMethod) -> StarPercentageSpec:
    return spec.star_percentage if isinstance(spec, (MethodConfig, ProgramMethod)) else spec


def truncate_percentage(x: npt.ArrayLike, spec: StarPercentageSpec | MethodConfig | ProgramMethod) -> np.ndarray:
    """Truncate toward zero after removing representation error (``guard_decimals``).

    Examples
    --------
    >>> from toolkit.scoring import load_method
    >>> m = load_method("des_2018")
    >>> truncate_percentage([19.82, -19.82, 41.999999999999993, 41.9], m).tolist()
    [19.0, -19.0, 42.0, 41.0]
    """
    sp = _spec(spec)
    return np.trunc(np.round(np.asarray(x, dtype=float), sp.guard_decimals)) + 0.0  # + 0.0: no -0.0


def star_percentage(
    score: npt.ArrayLike, average: npt.ArrayLike, spec: StarPercentageSpec | MethodConfig | ProgramMethod
) -> np.ndarray:
    """Step 6: ``P = trunc(100 * (S - S_bar) / S_bar)``, toward zero.

    Parameters
    ----------
    score : array_like (..., E)
        Performance scores ``S``.
    average : array_like (...)
        National average ``S_bar`` (one per draw when there is a draw axis).
    spec : StarPercentageSpec, MethodConfig or ProgramMethod
        Scale, rounding and guard decimals (``star_percentage`` of the config).

    Returns
    -------
    ndarray of float (..., E)
        Integer-valued; NaN where ``S`` is NaN.

    Examples
    --------
    Site X, Step 6:

    >>> from toolkit.scoring import load_method
    >>> float(star_percentage(2.84, 2.00, load_method("des_2018")))
    42.0
    """
    sp = _spec(spec)
    s = np.asarray(score, dtype=float)
    a = np.asarray(average, dtype=float)
    a = a.reshape(a.shape + (1,) * (s.ndim - a.ndim)) if s.ndim > a.ndim else a
    return truncate_percentage(sp.scale * (s - a) / a, sp)


def stars_from_percentage(
    percentage: npt.ArrayLike, bands: Sequence[Band] | MethodConfig | ProgramMethod
) -> np.ndarray:
    """Table 6: stars of each star percentage (0 where the percentage is NaN).

    Parameters
    ----------
    percentage : array_like
        Integer-valued star percentages.
    bands : sequence of Band, MethodConfig or ProgramMethod

    Returns
    -------
    ndarray of int8

    Examples
    --------
    >>> from toolkit.scoring import load_method
    >>> stars_from_percentage([-50, -49, -20, -19, 19, 20, 39, 40], load_method("des_2018")).tolist()
    [1, 2, 2, 3, 3, 4, 4, 5]
    """
    bl: tuple[Band, ...] = tuple(bands.bands if isinstance(bands, (MethodConfig, ProgramMethod)) else bands)
    ordered = sorted(bl, key=lambda b: -np.inf if b.min is None else b.min)
    edges = np.array([b.min for b in ordered[1:]], dtype=float)
    values = np.array([b.stars for b in ordered], dtype=np.int8)
    p = np.asarray(percentage, dtype=float)
    idx = np.searchsorted(edges, np.where(np.isnan(p), 0.0, p), side="right")
    return np.where(np.isnan(p), np.int8(0), values[idx]).astype(np.int8)
