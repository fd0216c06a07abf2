"""From posterior draws of site effects to each entity's actual outcomes, and to stars, draw by draw.

For a draw ``d``, an entity's actual outcome on a measure is the expected count under that
draw, ``A(d) = sum_i expit(o_i + b_site(i),m(d))`` over the entity's records (a participant
counts once per entity, with the release's own de-duplication rule), while its expected
outcome ``E`` stays the release's. Each draw is scored by the method as it stands
(:func:`toolkit.scoring.score_arrays`), the standardisation and the national average being
recomputed per draw over the rated contracts (see ``configs/bayes/des_2018.yaml``, scoring).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from toolkit.bayes.twostage import LEVEL_COLUMNS, CellData, FloatArray, logit
from toolkit.records.aggregate import dedupe
from toolkit.scoring import score_arrays
from toolkit.scoring.config import LEVELS
from toolkit.scoring.stars import stars_from_percentage, truncate_percentage

if TYPE_CHECKING:
    from toolkit.scoring.arrays import ScoreArrays
    from toolkit.scoring.config import MethodConfig, ProgramMethod

_CHUNK = 40_000_000  # draws x records per chunk (memory bound)


class EntityRecords:
    """A program's records, and for each rating level a sparse (records x entity-measure) indicator."""

    def __init__(self, frame: pd.DataFrame, cd: CellData, p_col: str = "expected_p") -> None:
        rec = frame.loc[(frame["program"] == cd.program) & frame["measure"].isin(cd.measures)].reset_index(drop=True)
        self.measures = cd.measures
        m = len(cd.measures)
        self.site = cd.entities["site"].get_indexer(pd.Index(rec[LEVEL_COLUMNS["site"]].astype(str)))
        self.measure = pd.Categorical(rec["measure"], categories=cd.measures).codes.astype(np.int64)
        self.offset = logit(rec[p_col].to_numpy(dtype=float))
        self.ids: dict[str, pd.Index] = {}
        self.indicator: dict[str, sp.csr_matrix] = {}
        for level in LEVELS:
            col = LEVEL_COLUMNS[level]
            kept = dedupe(rec, col)
            rows = kept.index.to_numpy()
            codes, ids = pd.factorize(kept[col].astype(str), sort=True)
            cols = codes.astype(np.int64) * m + self.measure[rows]
            self.ids[level] = pd.Index(ids)
            self.indicator[level] = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(rec), len(ids) * m))

    def actual_draws(self, b: FloatArray, levels: Sequence[str] | None = None) -> dict[str, FloatArray]:
        """``A`` per level (all, or ``levels``): arrays (D, entities, M) from site-effect draws ``b`` (D, sites, M)."""
        d = b.shape[0]
        m = len(self.measures)
        out = {lv: np.empty((d, len(self.ids[lv]), m)) for lv in (levels or self.ids)}
        step = max(1, _CHUNK // max(1, len(self.offset)))
        for i in range(0, d, step):
            eta = self.offset[None, :] + b[i : i + step][:, self.site, self.measure]
            p = 0.5 * (1.0 + np.tanh(0.5 * eta))
            for lv, arr in out.items():
                arr[i : i + step] = (self.indicator[lv].T @ p.T).T.reshape(p.shape[0], -1, m)
        return out


def _program_arrays(
    em: pd.DataFrame, ratings: pd.DataFrame, program: str, measures: list[str]
) -> tuple[pd.DataFrame, FloatArray, FloatArray]:
    """The program's rated entities (``level``, ``entity_id``, in the ratings' order) and their ``n`` and
    expected outcomes ``E`` (entities, M) from the entity-measure table (0 where an entity has no record)."""
    ents = ratings.loc[ratings["program"] == program, ["level", "entity_id"]].reset_index(drop=True)
    idx = pd.MultiIndex.from_frame(ents)
    rows = em[(em["program"] == program) & em["measure"].isin(measures)]
    ei = idx.get_indexer(pd.MultiIndex.from_frame(rows[["level", "entity_id"]]))
    mi = pd.Categorical(rows["measure"], categories=measures).codes
    ok = ei >= 0
    n, e = np.zeros((len(ents), len(measures))), np.zeros((len(ents), len(measures)))
    n[ei[ok], mi[ok]] = rows["n"].to_numpy()[ok]
    e[ei[ok], mi[ok]] = rows["expected"].to_numpy()[ok]
    return ents, n, e


def score_draws(
    em: pd.DataFrame,
    ratings: pd.DataFrame,
    method: MethodConfig,
    program: str,
    actual: dict[str, FloatArray],
    ids: dict[str, pd.Index],
    interval: float = 0.9,
    expected_factor: dict[str, FloatArray] | None = None,
) -> pd.DataFrame:
    """Score every draw of a program's entities; summarise per entity.

    Parameters
    ----------
    em : the release's entity-measure table (``n`` and ``expected`` are used; ``actual`` is not).
    ratings : the release's ratings table (entity order, ``calculated``, ``months_operating``).
    method : MethodConfig.
    actual : level -> (D, entities, M) draws of actual outcomes, entities ordered as ``ids[level]``.
    expected_factor : level -> (D, entities, M) draws of ``E_d / E`` (:func:`toolkit.bayes.expected.expected_factors`);
        None: the expected outcomes are taken as known.

    Returns
    -------
    DataFrame keyed by ``program, level, entity_id`` with posterior medians and intervals of the
    group ratios, performance score and star percentage, ``bayes_stars`` and ``p_star_1..5``
    (NaN where the published table has no calculated rating).
    """
    pm = method.program_method(program)
    measures = list(pm.measures)
    ents, n, e = _program_arrays(em, ratings, program, measures)
    a = _entity_draws(ents, actual, ids, len(measures))
    factor = (
        None
        if expected_factor is None
        else _entity_draws(ents, expected_factor, ids, len(measures), 1.0, levels=list(actual))
    )
    rat = ratings[ratings["program"] == program].reset_index(drop=True)
    e_draws = np.broadcast_to(e, a.shape) if factor is None else e[None] * factor
    out = score_arrays(n, a, e_draws, pm, population=_scored_population(rat, method))
    cols = _summary_columns(out, pm, interval)
    res = pd.DataFrame(cols)
    calc = rat["calculated"].to_numpy(bool)
    res.loc[~calc, :] = np.nan
    res.insert(0, "entity_id", ents["entity_id"].to_numpy())
    res.insert(0, "level", ents["level"].to_numpy())
    res.insert(0, "program", program)
    return res


def _entity_draws(
    ents: pd.DataFrame,
    draws: dict[str, FloatArray],
    ids: dict[str, pd.Index],
    n_measures: int,
    fill: float = 0.0,
    levels: list[str] | None = None,
) -> FloatArray:
    """Per-level draws (D, ``ids[level]``, M) placed in the rows of ``ents`` (``fill`` where an entity has none).

    ``levels``: the levels to place (default: every level of ``draws``).
    """
    first = next(iter(draws.values()))
    out = np.full((first.shape[0], len(ents), n_measures), fill)
    for level in levels if levels is not None else list(draws):
        sel = np.flatnonzero(ents["level"].to_numpy() == level)
        pos = ids[level].get_indexer(pd.Index(ents["entity_id"].to_numpy()[sel]))
        have = pos >= 0
        out[:, sel[have], :] = draws[level][:, pos[have], :]
    return out


def _scored_population(rat: pd.DataFrame, method: MethodConfig) -> np.ndarray:
    """The contracts the standardisation and the national average are computed over, per draw: rated
    contracts meeting the minimum data, old enough to be calculated."""
    months = rat["months_operating"].to_numpy(dtype=float)
    return (
        rat["meets_minimum_data"].to_numpy(bool)
        & (rat["level"].to_numpy() == "contract")
        & ~(months < method.new_entities.contract.calculated_from_months)
    )


def _summary_columns(out: ScoreArrays, pm: ProgramMethod, interval: float) -> dict[str, np.ndarray]:
    """Posterior median and central ``interval`` of the group ratios, performance score and star percentage;
    the stars of the median star percentage, each star band's probability and the median national average."""
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    cols: dict[str, np.ndarray] = {}
    assert out.ratios is not None  # score_arrays keeps the group arrays by default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns of unscored entities
        for k, g in enumerate(pm.groups):
            _quantile_columns(cols, f"bayes_ratio_{g}", out.ratios[:, :, k], lo, hi)
        _quantile_columns(cols, "bayes_performance_score", out.performance_score, lo, hi)
        _quantile_columns(cols, "bayes_star_percentage", out.star_percentage, lo, hi)
    med_p = cols["bayes_star_percentage"]
    stars = np.where(
        np.isfinite(med_p), stars_from_percentage(truncate_percentage(np.nan_to_num(med_p), pm), pm.bands), 0
    )
    cols["bayes_stars"] = np.where(np.isfinite(med_p), stars, np.nan)
    for s in sorted(b.stars for b in pm.bands):  # one probability per star band of the method
        cols[f"p_star_{s}"] = (out.stars == s).mean(axis=0)
    cols["bayes_national_average"] = np.full(out.stars.shape[-1], float(np.median(out.national_average)))
    return cols


def _quantile_columns(cols: dict[str, np.ndarray], name: str, x: np.ndarray, lo: float, hi: float) -> None:
    """``name``, ``name_q<lo>`` and ``name_q<hi>`` into ``cols``: the median and the ``lo`` and ``hi`` quantiles
    of the draws ``x`` (draws, entities), NaN where every draw is NaN."""
    tag = f"{lo * 100:g}", f"{hi * 100:g}"
    with np.errstate(all="ignore"):
        q = np.nanquantile(x, [0.5, lo, hi], axis=0) if np.isfinite(x).any() else np.full((3,) + x.shape[1:], np.nan)
    cols[name], cols[f"{name}_q{tag[0]}"], cols[f"{name}_q{tag[1]}"] = q[0], q[1], q[2]
