"""The numerical heart: Steps 3 to 6 on arrays, with an optional leading draw axis.

:func:`score_arrays` takes ``n`` (entities x measures, fixed) and ``actual`` and
``expected`` shaped (entities, measures) or (draws, entities, measures), and
returns every intermediate of the six steps. Posterior draws are processed in
chunks so memory stays bounded; the standardisation scale and the national
average are recomputed per draw over the (fixed) population of rated contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from toolkit.scoring.config import ProgramMethod
from toolkit.scoring.ratios import group_ratios
from toolkit.scoring.rules import meets_minimum_data
from toolkit.scoring.standardise import standardisation_parameters, standardise
from toolkit.scoring.stars import (
    national_average,
    performance_score,
    star_percentage,
    stars_from_percentage,
)
from toolkit.scoring.weights import AdjustedWeights, adjust_weights

if TYPE_CHECKING:
    import numpy.typing as npt

_CHUNK_ELEMENTS = 4_000_000  # draws x entities x measures per chunk (memory bound, not a method number)


@dataclass(frozen=True, eq=False)
class ScoreArrays:
    """Everything :func:`score_arrays` computes; ``...`` is the draw axis when given.

    ``weights`` (adjusted weights, fixed across draws), ``meets_minimum`` (E,),
    ``population`` (E,), ``ratios`` and ``scores`` (..., E, K) (None when not
    kept), ``mu`` and ``sd`` (..., K), ``performance_score`` (..., E),
    ``national_average`` (...), ``star_percentage`` (..., E; float, NaN for no
    score) and ``stars`` (..., E; int8, 0 for no score).
    """

    weights: AdjustedWeights
    meets_minimum: np.ndarray
    population: np.ndarray
    ratios: np.ndarray | None
    scores: np.ndarray | None
    mu: np.ndarray
    sd: np.ndarray
    performance_score: np.ndarray
    national_average: np.ndarray
    star_percentage: np.ndarray
    stars: np.ndarray


class _Steps(NamedTuple):
    """Steps 3 to 6 on one chunk of draws (``ratios`` and ``scores`` None when not kept)."""

    ratios: np.ndarray | None
    scores: np.ndarray | None
    mu: np.ndarray
    sd: np.ndarray
    performance_score: np.ndarray
    national_average: np.ndarray
    star_percentage: np.ndarray
    stars: np.ndarray


def _steps(
    actual: np.ndarray,
    expected: np.ndarray,
    aw: AdjustedWeights,
    population: np.ndarray,
    program: ProgramMethod,
    keep: bool,
) -> _Steps:
    r = group_ratios(actual, expected, aw.weights, program)
    mu, sd = standardisation_parameters(r, population, program)
    sc = standardise(r, mu, sd, program)
    s = performance_score(sc, aw.group_weights, aw.scorable)
    sbar = national_average(s, population)
    p = star_percentage(s, sbar, program)
    return _Steps(
        r if keep else None, sc if keep else None, mu, sd, s, sbar, p, stars_from_percentage(p, program.bands)
    )


def _joined(chunks: list[np.ndarray]) -> np.ndarray:
    """The chunks' arrays as one, along the draw axis (the array itself when there is one chunk)."""
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks, axis=0)


def _joined_kept(chunks: list[np.ndarray | None]) -> np.ndarray | None:
    """Like :func:`_joined` for ratios and scores: None when the chunks did not keep them."""
    if chunks[0] is None:
        return None
    return _joined([c for c in chunks if c is not None])


def score_arrays(
    n: npt.ArrayLike,
    actual: npt.ArrayLike,
    expected: npt.ArrayLike,
    program: ProgramMethod,
    *,
    population: npt.ArrayLike | None = None,
    keep_group_arrays: bool = True,
) -> ScoreArrays:
    """Score entities from counts: weights, ratios, scores, S, national average, P, stars.

    Parameters
    ----------
    n : array_like (E, M)
        Denominators, in ``program.measures`` order (0 where an entity has no record).
    actual, expected : array_like (E, M) or (D, E, M)
        Actual and expected outcomes; a leading axis holds posterior draws.
    program : ProgramMethod
        ``method.program_method("DMS")`` or ``("ESS")``.
    population : array_like of bool (E,), optional
        The rated contracts that set the scale and the national average. Default:
        every entity that meets the minimum data rule and has a score (all
        entities are then taken to be contracts).
    keep_group_arrays : bool
        Return ``ratios`` and ``scores`` (set False to save memory with many draws).

    Returns
    -------
    ScoreArrays
        Scores exist for every entity with an unreduced measure; whether an
        entity has a *calculated* rating (minimum data, months operating) is
        the caller's decision (see :func:`toolkit.scoring.score_entities`).

    Examples
    --------
    >>> from toolkit.scoring import load_method
    >>> p = load_method("des_2018").program_method("DMS")
    >>> n = np.full((3, 6), 40)
    >>> A = np.array([[10] * 6, [12] * 6, [14] * 6])
    >>> out = score_arrays(n, A, np.full((3, 6), 12.0), p)
    >>> out.performance_score.round(6).tolist(), out.stars.tolist()
    ([1.0, 2.0, 3.0], [1, 3, 5])
    >>> draws = score_arrays(n, np.stack([A, A[::-1]]), np.full((2, 3, 6), 12.0), p)
    >>> draws.stars.tolist()
    [[1, 3, 5], [5, 3, 1]]
    """
    n = np.asarray(n, dtype=float)
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if n.ndim != 2 or actual.shape != expected.shape or actual.shape[-2:] != n.shape or actual.ndim not in (2, 3):
        raise ValueError(
            f"shapes: n {n.shape} must be (E, M); actual {actual.shape} and expected "
            f"{expected.shape} must be (E, M) or (D, E, M) alike"
        )
    aw = adjust_weights(n, program)
    meets = meets_minimum_data(n, program)
    pop = (meets & aw.scorable) if population is None else np.asarray(population, dtype=bool)
    if actual.ndim == 2:
        parts = [_steps(actual, expected, aw, pop, program, True)]
    else:
        step = max(1, _CHUNK_ELEMENTS // max(1, n.size))
        parts = [
            _steps(actual[i : i + step], expected[i : i + step], aw, pop, program, keep_group_arrays)
            for i in range(0, actual.shape[0], step)
        ]
    return ScoreArrays(
        weights=aw,
        meets_minimum=meets,
        population=pop,
        ratios=_joined_kept([c.ratios for c in parts]),
        scores=_joined_kept([c.scores for c in parts]),
        mu=_joined([c.mu for c in parts]),
        sd=_joined([c.sd for c in parts]),
        performance_score=_joined([c.performance_score for c in parts]),
        national_average=_joined([c.national_average for c in parts]),
        star_percentage=_joined([c.star_percentage for c in parts]),
        stars=_joined([c.stars for c in parts]),
    )
