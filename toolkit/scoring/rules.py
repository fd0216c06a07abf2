"""Business rules: minimum data, new entities, and the publishing rules across releases.

Publishing (config ``publishing`` and ``new_entities``; seed: Additional
Business Rules, Treatment of new Contracts, New Sites, Site publishing
arrangements), decided per program in this order:

1. A contract under ``published_from_months``: ``new_contract`` (calculated
   from ``calculated_from_months`` when it meets minimum data, never published).
2. A site under ``published_from_months``: ``new_site`` (calculated likewise).
3. An entity with a calculated rating: ``rated``.
4. Otherwise (below the minimum data): ``carried_forward`` with the previous
   release's stars and star percentage if the previous release rated it
   (status ``rated``), else ``insufficient_data``.
5. A site left ``new_site`` or ``insufficient_data`` shows its contract's
   published stars and star percentage, ``substituted``, when the contract's
   status is one of ``substitute_from``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.scoring.config import MethodConfig, ProgramMethod

if TYPE_CHECKING:
    import numpy.typing as npt


def meets_minimum_data(n: npt.ArrayLike, program: ProgramMethod) -> np.ndarray:
    """Thresholds for Calculated Ratings: every rule ``sum(n over its measures) >= min_n`` holds.

    Parameters
    ----------
    n : array_like (..., M)
        Denominators in ``program.measures`` order.
    program : ProgramMethod

    Returns
    -------
    ndarray of bool (...)

    Examples
    --------
    ESS needs n(full_13) >= 5 and n(full_13) + n(ongoing_support) >= 20:

    >>> from toolkit.scoring import load_method
    >>> ess = load_method("des_2018").program_method("ESS")
    >>> meets_minimum_data([[5, 0, 0, 0, 0, 0, 15], [4, 0, 0, 0, 0, 0, 30]], ess).tolist()
    [True, False]
    """
    n = np.asarray(n, dtype=float)
    return ((n @ program.threshold_matrix.T) >= program.threshold_min).all(axis=-1)


def _fmt_pct(p: float) -> str:
    return f"{int(p):+d}"


def publish(facts: pd.DataFrame, method: MethodConfig, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Apply the new-entity and publishing rules to one release's calculated ratings.

    Parameters
    ----------
    facts : DataFrame
        One row per entity with ``program, level, entity_id, parent_id,
        months_operating`` (NaN: established), ``meets_minimum`` (minimum data met
        and an unreduced measure), ``calc_star_percentage`` (float, NaN if none) and
        ``calc_stars`` (int, 0 if none); row order is kept.
    method : MethodConfig
    previous : DataFrame or None
        The previous release's ratings (``program, level, entity_id, status,
        star_percentage, stars``), validated by
        :func:`toolkit.scoring.validate.validate_previous`.

    Returns
    -------
    DataFrame
        Same index as ``facts``: ``calculated`` (bool), ``status``,
        ``star_percentage`` (float, NaN if none), ``stars`` (float, NaN if none),
        ``notes`` (list of audit strings).
    """
    ne, pub = method.new_entities, method.publishing
    level = facts["level"].to_numpy()
    months = facts["months_operating"].to_numpy(dtype=float)
    age = np.where(np.isnan(months), np.inf, months)
    is_site, is_contract = level == "site", level == "contract"
    calc_from = np.select(
        [is_site, is_contract], [ne.site.calculated_from_months, ne.contract.calculated_from_months], -np.inf
    )
    pub_from = np.select(
        [is_site, is_contract], [ne.site.published_from_months, ne.contract.published_from_months], -np.inf
    )
    meets = facts["meets_minimum"].to_numpy(dtype=bool)
    calculated = meets & (age >= calc_from)
    young = age < pub_from

    prev = _previous_lookup(facts, previous)
    carry = (
        ~young
        & ~calculated
        & pub.carry_forward
        & np.isin(level, list(pub.carry_forward_levels))
        & (prev["status"].to_numpy() == "rated")
    )

    status = np.select(
        [young & is_contract, young & is_site, calculated & ~young, carry],
        ["new_contract", "new_site", "rated", "carried_forward"],
        "insufficient_data",
    ).astype(object)
    pct = np.where(status == "rated", facts["calc_star_percentage"].to_numpy(dtype=float), np.nan)
    stars = np.where(status == "rated", facts["calc_stars"].to_numpy(dtype=float), np.nan)
    pct = np.where(carry, prev["star_percentage"].to_numpy(dtype=float), pct)
    stars = np.where(carry, prev["stars"].to_numpy(dtype=float), stars)

    notes: list[list[str]] = [[] for _ in range(len(facts))]
    for i in np.flatnonzero(young):
        what = "contract" if is_contract[i] else "site"
        rule = ne.contract if is_contract[i] else ne.site
        state = (
            "calculated, not published"
            if calculated[i]
            else "no calculated rating"
            if age[i] < rule.calculated_from_months
            else "minimum data not met, no calculated rating"
        )
        notes[i].append(
            f"new {what}: {months[i]:g} months operating < {rule.published_from_months:g} to publish ({state})"
        )
    for i in np.flatnonzero(carry):
        notes[i].append(
            f"below minimum data: carried forward from the previous release ({int(stars[i])} stars, {_fmt_pct(pct[i])})"
        )
    for i in np.flatnonzero((status == "insufficient_data") & (prev["status"].to_numpy() == "carried_forward")):
        notes[i].append("below minimum data for a second consecutive release: insufficient data")

    if pub.new_contract_sites:
        lk = _contract_lookup(facts, is_contract, status, pct, stars)
        under_new = is_site & (lk["status"] == "new_contract").to_numpy()
        for i in np.flatnonzero(under_new):
            notes[i].append(f"site of new contract {facts['parent_id'].iat[i]}: published as a new contract")
        status = np.where(under_new, "new_contract", status)
        pct, stars = np.where(under_new, np.nan, pct), np.where(under_new, np.nan, stars)

    if pub.substitute_sites:
        lk = _contract_lookup(facts, is_contract, status, pct, stars)
        ok = (
            is_site
            & np.isin(status, list(pub.substitute_site_statuses))
            & lk["status"].isin(list(pub.substitute_from)).to_numpy()
        )
        for i in np.flatnonzero(ok):
            notes[i].append(
                f"substituted: shows contract {facts['parent_id'].iat[i]}'s "
                f"{lk['status'].iat[i].replace('_', ' ')} rating"
            )
        pct = np.where(ok, lk["pct"].to_numpy(dtype=float), pct)
        stars = np.where(ok, lk["stars"].to_numpy(dtype=float), stars)
        status = np.where(ok, "substituted", status)

    return pd.DataFrame(
        {
            "calculated": calculated,
            "status": status.astype(object),
            "star_percentage": pct,
            "stars": stars,
            "notes": notes,
        },
        index=facts.index,
    )


def _contract_lookup(
    facts: pd.DataFrame, is_contract: np.ndarray, status: np.ndarray, pct: np.ndarray, stars: np.ndarray
) -> pd.DataFrame:
    """For each row, its parent contract's ``status``, ``pct`` and ``stars`` in this release (NaN where the
    parent is not a contract of the table), in row order."""
    contract = pd.DataFrame(
        {
            "program": facts["program"].to_numpy(),
            "entity_id": facts["entity_id"].to_numpy(),
            "status": status,
            "pct": pct,
            "stars": stars,
        }
    )[is_contract]
    key = pd.MultiIndex.from_arrays([facts["program"].to_numpy(), facts["parent_id"].to_numpy()])
    return contract.set_index(["program", "entity_id"]).reindex(key)


def _previous_lookup(facts: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """The previous release's status, star percentage and stars of each entity (NaN/None when absent)."""
    if previous is None or len(previous) == 0:
        return pd.DataFrame(
            {
                "status": np.full(len(facts), None, dtype=object),
                "star_percentage": np.full(len(facts), np.nan),
                "stars": np.full(len(facts), np.nan),
            }
        )
    prev = previous.set_index(["program", "level", "entity_id"])[["status", "star_percentage", "stars"]]
    key = pd.MultiIndex.from_arrays(
        [facts["program"].to_numpy(), facts["level"].to_numpy(), facts["entity_id"].to_numpy()]
    )
    got = prev.reindex(key)
    return pd.DataFrame(
        {
            "status": got["status"].astype(object).where(got["status"].notna(), None).to_numpy(),
            "star_percentage": got["star_percentage"].to_numpy(dtype=float, na_value=np.nan),
            "stars": got["stars"].to_numpy(dtype=float, na_value=np.nan),
        }
    )
