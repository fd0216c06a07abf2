"""The ratings table: entity-measure table in, one row per entity out.

Rows are sorted by program, level (organisation, contract, site: top down) and
entity id; columns and dtypes are fixed (:data:`COLUMN_DTYPES`), so the same
input gives the same table, whatever its row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.scoring import audit
from toolkit.scoring.arrays import score_arrays
from toolkit.scoring.config import LEVELS, MethodConfig, ProgramMethod
from toolkit.scoring.rules import meets_minimum_data, publish
from toolkit.scoring.validate import KEY, validate_entity_measures, validate_previous
from toolkit.scoring.weights import AdjustedWeights, adjust_weights

_STRING = pd.StringDtype()


def output_dtypes(method: MethodConfig) -> dict[str, object]:
    """Column names and dtypes of the ratings table of ``method``, in order."""
    g, m = method.group_ids, method.measure_ids
    cols: dict[str, object] = {
        "program": _STRING,
        "level": _STRING,
        "entity_id": _STRING,
        "parent_id": _STRING,
        "months_operating": np.float64,
        "status": _STRING,
        "stars": pd.Int64Dtype(),
        "star_percentage": pd.Int64Dtype(),
        "calculated": np.bool_,
        "calculated_stars": pd.Int64Dtype(),
        "calculated_star_percentage": pd.Int64Dtype(),
        "performance_score": np.float64,
        "national_average": np.float64,
        "meets_minimum_data": np.bool_,
    }
    cols |= {f"ratio_{x}": np.float64 for x in g} | {f"score_{x}": np.float64 for x in g}
    cols |= {f"group_weight_{x}": np.float64 for x in g}
    cols |= {f"n_{x}": pd.Int64Dtype() for x in m} | {f"weight_{x}": np.float64 for x in m}
    cols["audit"] = _STRING
    return cols


def score_entities(
    entity_measures: pd.DataFrame,
    method: MethodConfig,
    previous: pd.DataFrame | None = None,
    *,
    fractional_actual: bool = False,
) -> pd.DataFrame:
    """Score sites, contracts and organisations: the six steps and every business rule.

    Parameters
    ----------
    entity_measures : DataFrame
        One row per program, level, entity and measure: ``program`` (DMS/ESS),
        ``level`` (site/contract/organisation), ``entity_id``, ``parent_id`` (a
        site's contract, a contract's organisation, empty for an organisation),
        ``measure``, ``n``, ``actual``, ``expected`` and optionally
        ``months_operating`` (empty: established). A missing measure row means
        ``n = 0``. Each level's counts are the entity's own (a participant counts
        once per entity), not sums of the level below.
    method : MethodConfig
        From :func:`~toolkit.scoring.load_method`.
    previous : DataFrame, optional
        The previous release's ratings table (this function's output) for the
        publishing rules; None for a first release.
    fractional_actual : bool
        Accept non-whole ``actual`` (oracle or posterior-mean actual outcomes).

    Returns
    -------
    DataFrame
        One row per entity, columns and dtypes as :func:`output_dtypes`:
        published ``status``, ``stars`` and ``star_percentage``; the calculated
        rating (``calculated``, ``performance_score`` unrounded,
        ``calculated_stars``, ``calculated_star_percentage``); the program's
        ``national_average``; group ratios, scores and adjusted weights; ``n``
        and adjusted weight per measure; and the ``audit`` text.

    Raises
    ------
    toolkit.errors.InputError
        Bad input (every problem listed), or a program that cannot be
        standardised (fewer than two rated contracts).

    Examples
    --------
    >>> from toolkit.scoring import load_method
    >>> rows = [("DMS", "contract", f"C{i}", "", m, 40, a, 12.0)
    ...         for i, a in enumerate([10, 12, 14]) for m in ("full_13", "full_26", "pathway_26",
    ...                                                       "bonus_26", "full_52", "pathway_52")]
    >>> em = pd.DataFrame(rows, columns=["program", "level", "entity_id", "parent_id", "measure",
    ...                                  "n", "actual", "expected"])
    >>> out = score_entities(em, load_method("des_2018"))
    >>> print(out[["entity_id", "status", "star_percentage", "stars"]].to_string(index=False))
    entity_id status  star_percentage  stars
           C0  rated              -50      1
           C1  rated                0      3
           C2  rated               50      5
    """
    return score_entities_with_parameters(entity_measures, method, previous, fractional_actual=fractional_actual)[0]


def score_entities_with_parameters(
    entity_measures: pd.DataFrame,
    method: MethodConfig,
    previous: pd.DataFrame | None = None,
    *,
    fractional_actual: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`score_entities`, plus the standardisation parameters it used.

    Returns
    -------
    ratings : DataFrame
        As :func:`score_entities`.
    parameters : DataFrame
        One row per program and group: ``mu`` and ``sd`` of the group ratio over the
        standardisation population, the population size and the program's national average.
    """
    em = validate_entity_measures(entity_measures, method, fractional_actual=fractional_actual)
    prev = validate_previous(previous) if previous is not None else None
    ents = program_entities(em)
    parts, params = [], []
    for p in sorted(ents["program"].unique()):
        part, par = _score_program(em[em["program"] == p], ents[ents["program"] == p].reset_index(drop=True), method)
        parts.append(part)
        params.append(par)
    facts = pd.concat(parts, ignore_index=True) if parts else _empty(method)
    parameters = (
        pd.concat(params, ignore_index=True)
        if params
        else pd.DataFrame(columns=["program", "group", "mu", "sd", "population", "national_average"])
    )
    pub = publish(facts, method, prev)
    facts = facts.assign(
        status=pub["status"], stars=pub["stars"], star_percentage=pub["star_percentage"], calculated=pub["calculated"]
    )
    calc = facts["calculated"].to_numpy()
    facts["performance_score"] = np.where(calc, facts["performance_score"], np.nan)
    facts["calculated_star_percentage"] = np.where(calc, facts["calc_star_percentage"], np.nan)
    facts["calculated_stars"] = np.where(calc, facts["calc_stars"], np.nan)
    facts["audit"] = audit.join(
        [[x] if x else [] for x in facts["novation"]], list(facts["_notes"]), list(pub["notes"])
    )
    return _finalise(facts, method), parameters


def program_entities(em: pd.DataFrame) -> pd.DataFrame:
    """The entities of a validated entity-measure table, in scoring order (program, level top down, id)."""
    ents = em.drop_duplicates(list(KEY))[list(KEY) + ["parent_id", "months_operating", "novation"]]
    ents = ents.assign(_lvl=ents["level"].map(LEVELS.index)).sort_values(["program", "_lvl", "entity_id"])
    return ents.drop(columns="_lvl").reset_index(drop=True)


def program_arrays(
    em: pd.DataFrame, ents: pd.DataFrame, method: MethodConfig
) -> tuple[ProgramMethod, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arrays Steps 3-6 score for one program: ``n``, ``A``, ``E`` (entities x the program's measures, in
    the order of ``ents``, 0 where an entity has no record) and the standardisation population (established
    contracts that meet minimum data). ``em`` and ``ents`` hold one program (validated; :func:`program_entities`).
    """
    pm = method.program_method(ents["program"].iat[0])
    ne = method.new_entities.contract
    e_index = pd.MultiIndex.from_frame(ents[["level", "entity_id"]])
    rows = em[em["measure"].isin(pm.measures)]
    ei = e_index.get_indexer(pd.MultiIndex.from_frame(rows[["level", "entity_id"]]))
    mi = np.array([pm.measures.index(m) for m in rows["measure"]], dtype=np.intp)
    shape = (len(ents), len(pm.measures))
    n, A, E = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    n[ei, mi], A[ei, mi], E[ei, mi] = rows["n"], rows["actual"], rows["expected"]
    aw = adjust_weights(n, pm)
    meets = meets_minimum_data(n, pm) & aw.scorable
    months = ents["months_operating"].to_numpy(dtype=float)
    population = (
        meets & (ents["level"].to_numpy() == "contract") & ~(months < ne.calculated_from_months)
    )  # NaN months: established
    return pm, n, A, E, population


def _score_program(em: pd.DataFrame, ents: pd.DataFrame, method: MethodConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    pm, n, A, E, population = program_arrays(em, ents, method)
    e_index = pd.MultiIndex.from_frame(ents[["level", "entity_id"]])
    aw = adjust_weights(n, pm)
    meets = meets_minimum_data(n, pm) & aw.scorable
    if not population.any():  # no contract can set the scale (every contract new, or none meets minimum data)
        return _unscored_program(em, ents, pm, method, aw, meets)
    out = score_arrays(n, A, E, pm, population=population)

    cols: dict[str, object] = {
        **{
            k: ents[k].to_numpy()
            for k in ("program", "level", "entity_id", "parent_id", "months_operating", "novation")
        },
        "meets_minimum": meets,
        "meets_minimum_data": meets,
        "performance_score": out.performance_score,
        "national_average": np.full(len(ents), out.national_average),
        "calc_star_percentage": out.star_percentage,
        "calc_stars": np.where(out.stars > 0, out.stars, np.nan),
    }
    ratios, scores = out.ratios, out.scores
    if ratios is None or scores is None:  # unreachable: without a draw axis score_arrays keeps them
        raise ValueError("score_arrays returned no group ratios or scores")
    for k, g in enumerate(pm.groups):
        cols[f"ratio_{g}"], cols[f"score_{g}"] = ratios[:, k], scores[:, k]
        cols[f"group_weight_{g}"] = aw.group_weights[:, k]
    for j, m in enumerate(pm.measures):
        cols[f"weight_{m}"] = aw.weights[:, j]
    cols |= _n_columns(em, e_index, method, pm)
    notes_w = audit.weight_notes(n, aw, pm)
    notes_t = audit.threshold_notes(n, pm, method.programs[pm.program].minimum_data)
    cols["_notes"] = [a + b for a, b in zip(notes_w, notes_t, strict=True)]
    params = pd.DataFrame(
        {
            "program": pm.program,
            "group": list(pm.groups),
            "mu": np.asarray(out.mu, float),
            "sd": np.asarray(out.sd, float),
            "population": int(population.sum()),
            "national_average": float(out.national_average),
        }
    )
    return pd.DataFrame(cols), params


def _n_columns(em: pd.DataFrame, e_index: pd.MultiIndex, method: MethodConfig, pm: ProgramMethod) -> dict[str, object]:
    """``n_<measure>`` of every measure the program scores or lists as not scored, per entity (0: no record)."""
    all_n = em.pivot_table(index=["level", "entity_id"], columns="measure", values="n", aggfunc="sum")
    all_n = all_n.reindex(e_index)
    allowed = set(pm.measures) | set(method.programs[pm.program].not_scored)
    return {
        f"n_{m}": all_n[m].fillna(0).to_numpy() if m in all_n.columns else np.zeros(len(e_index))
        for m in method.measure_ids
        if m in allowed
    }


def _unscored_program(
    em: pd.DataFrame,
    ents: pd.DataFrame,
    pm: ProgramMethod,
    method: MethodConfig,
    aw: AdjustedWeights,
    meets: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A program none of whose contracts can set the national scale: no entity gets a calculated rating (the
    publishing rules still give each its status), the other programs are scored as usual."""
    nan = np.full(len(ents), np.nan)
    cols: dict[str, object] = {
        **{
            k: ents[k].to_numpy()
            for k in ("program", "level", "entity_id", "parent_id", "months_operating", "novation")
        },
        "meets_minimum": np.zeros(len(ents), bool),
        "meets_minimum_data": meets,
        "performance_score": nan,
        "national_average": nan,
        "calc_star_percentage": nan,
        "calc_stars": nan,
    }
    for k, g in enumerate(pm.groups):
        cols[f"ratio_{g}"], cols[f"score_{g}"], cols[f"group_weight_{g}"] = nan, nan, aw.group_weights[:, k]
    for j, m in enumerate(pm.measures):
        cols[f"weight_{m}"] = aw.weights[:, j]
    cols |= _n_columns(em, pd.MultiIndex.from_frame(ents[["level", "entity_id"]]), method, pm)
    why = (
        f"program {pm.program}: no contract can set the national scale (none is established and meets minimum "
        "data), so no entity of the program has a calculated rating in this release"
    )
    cols["_notes"] = [[why] for _ in range(len(ents))]
    params = pd.DataFrame(
        {
            "program": pm.program,
            "group": list(pm.groups),
            "mu": np.nan,
            "sd": np.nan,
            "population": 0,
            "national_average": np.nan,
        }
    )
    return pd.DataFrame(cols), params


def _empty(method: MethodConfig) -> pd.DataFrame:
    base = {
        k: pd.Series([], dtype=object) for k in ("program", "level", "entity_id", "parent_id", "novation", "_notes")
    }
    num = {
        k: pd.Series([], dtype=float)
        for k in ("months_operating", "performance_score", "national_average", "calc_star_percentage", "calc_stars")
    }
    return pd.DataFrame(
        {**base, **num, "meets_minimum": pd.Series([], dtype=bool), "meets_minimum_data": pd.Series([], dtype=bool)}
    )


def _finalise(facts: pd.DataFrame, method: MethodConfig) -> pd.DataFrame:
    """Fixed columns, dtypes and row order."""
    out = {}
    for col, dtype in output_dtypes(method).items():
        values = facts[col] if col in facts.columns else pd.Series(np.nan, index=facts.index)
        if isinstance(dtype, pd.Int64Dtype):
            v = pd.to_numeric(values, errors="raise").to_numpy(dtype=float, na_value=np.nan)
            out[col] = pd.array(np.where(np.isnan(v), 0, v).astype(np.int64), dtype="Int64")
            out[col][np.isnan(v)] = pd.NA
        elif dtype is _STRING:
            out[col] = pd.array([str(x) for x in values], dtype=_STRING)
        else:
            out[col] = values.to_numpy().astype(dtype)
    table = pd.DataFrame(out)
    rank = table["level"].map({lvl: i for i, lvl in enumerate(LEVELS)}).astype(np.int64)
    table = table.assign(_rank=rank).sort_values(["program", "_rank", "entity_id"], kind="mergesort")
    return table.drop(columns="_rank").reset_index(drop=True)
