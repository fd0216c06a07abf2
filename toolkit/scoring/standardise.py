"""Step 4: standardise group ratios to scores between 0 and 4.

The seed gives no formula; the default reading (docs/method.md, config
``standardisation``) is ``score = clip(centre + (R - mu) / sd, clip)`` with
``mu`` and ``sd`` (``ddof`` 1) per program and group over the rated contracts.
Sites and organisations use the contracts' ``mu`` and ``sd``. With posterior
draws (a leading axis), ``mu`` and ``sd`` are recomputed per draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toolkit.errors import InputError
from toolkit.scoring.config import ProgramMethod

if TYPE_CHECKING:
    import numpy.typing as npt


def standardisation_parameters(
    ratios: npt.ArrayLike, population: npt.ArrayLike, program: ProgramMethod
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each group's ratio over the population.

    Parameters
    ----------
    ratios : array_like (..., E, K)
        Group ratios; NaN where a group has no ratio (left out of that group's
        statistics).
    population : array_like of bool (E,)
        The entities that define the scale (the rated contracts).
    program : ProgramMethod

    Returns
    -------
    mu, sd : ndarray (..., K)

    Raises
    ------
    toolkit.errors.InputError
        Fewer than ``min_population`` population entities have a ratio for a
        group (but some do, or ``group_without_data: error``), or their ratios do not vary.

    Examples
    --------
    >>> from toolkit.scoring import load_method
    >>> p = load_method("des_2018").program_method("DMS")
    >>> r = np.array([[1.0, 1.0, 1.0], [2.0, 3.0, 1.5]])
    >>> mu, sd = standardisation_parameters(r, np.array([True, True]), p)
    >>> mu.tolist(), [round(float(x), 4) for x in sd]
    ([1.5, 2.0, 1.25], [0.7071, 1.4142, 0.3536])
    """
    spec = program.standardisation
    r = np.asarray(ratios, dtype=float)[..., np.asarray(population, dtype=bool), :]
    valid = np.isfinite(r)
    count = valid.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(valid, r, 0.0).sum(axis=-2) / count
        dev = np.where(valid, r - mu[..., None, :], 0.0)
        sd = np.sqrt((dev * dev).sum(axis=-2) / (count - spec.ddof))
    problems: list[str] = []
    for k, g in enumerate(program.groups):
        c = count[..., k]
        if np.all(c == 0) and spec.group_without_data == "redistribute":
            mu[..., k] = sd[..., k] = np.nan  # no data nationally: the group's weight is 0 for every entity
            continue
        if np.any(c < spec.min_population):
            problems.append(
                f"group {g}: {int(np.min(c))} rated contract(s) with a ratio, need at least {spec.min_population}"
            )
        elif not np.all(np.isfinite(sd[..., k]) & (sd[..., k] > 0)):
            problems.append(f"group {g}: the rated contracts' ratios do not vary (sd = 0)")
    if problems:
        raise InputError(f"program {program.program}: cannot standardise ({'; '.join(problems)})")
    return mu, sd


def standardise(ratios: npt.ArrayLike, mu: npt.ArrayLike, sd: npt.ArrayLike, program: ProgramMethod) -> np.ndarray:
    """Scores ``clip(centre + (R - mu) / sd, clip)`` per group.

    Parameters
    ----------
    ratios : array_like (..., E, K)
    mu, sd : array_like (..., K)
        From :func:`standardisation_parameters` (or given, e.g. to reuse a release's scale).
    program : ProgramMethod

    Returns
    -------
    ndarray (..., E, K)
        Scores; NaN where the ratio is NaN.

    Examples
    --------
    >>> from toolkit.scoring import load_method
    >>> p = load_method("des_2018").program_method("ESS")
    >>> standardise(np.array([[2.5, 1.0, 9.0, 0.0]]), np.ones(4), np.ones(4), p).tolist()
    [[3.5, 2.0, 4.0, 1.0]]
    """
    spec = program.standardisation
    r = np.asarray(ratios, dtype=float)
    z = (r - np.asarray(mu, dtype=float)[..., None, :]) / np.asarray(sd, dtype=float)[..., None, :]
    score = spec.centre + z
    if spec.clip is not None:
        score = np.clip(score, spec.clip[0], spec.clip[1])
    return score
