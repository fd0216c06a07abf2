"""Contract novations: the new contract inherits the old contract's records.

Seed, Treatment of new and continuing Contracts: "Subsequent Star Ratings
calculations for the new Contract will include the performance data of both the
original and the new Contracts ... until there is no performance data for the
original Contract within the two year rolling assessment period." The caller
lists the novations still in force for the release (whether any old records lie
in the window is known upstream, where the records are).

Reading (config ``novation``): the old contract's contract-level ``n``,
``actual`` and ``expected`` are added to the new contract's per measure; the
old contract's rows and its sites' rows leave the table (its sites are ceased
sites: their data already count in the merged contract); the merged contract's
``months_operating`` is the larger of the two (``max``) or the new one's
(``new``). Hand-back and ceased contracts need no function: the caller removes
their records (seed: "The receiving Contract(s) do not take on any past
performance"; "Past performance data ... will be removed").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.errors import InputError
from toolkit.scoring.config import MethodConfig
from toolkit.scoring.validate import validate_entity_measures

NOVATION_COLUMNS = ("old_contract_id", "new_contract_id")


def apply_novations(entity_measures: pd.DataFrame, novations: pd.DataFrame, method: MethodConfig) -> pd.DataFrame:
    """Merge each old contract's records into its new contract.

    Parameters
    ----------
    entity_measures : DataFrame
        The entity-measure table (see :func:`~toolkit.scoring.validate_entity_measures`).
    novations : DataFrame
        Columns ``old_contract_id, new_contract_id``: one row per old contract.
        Both must be contracts of the table, in the same program(s); no chains.
    method : MethodConfig
        For the ``novation`` reading (``months_operating``).

    Returns
    -------
    DataFrame
        The validated table without the old contracts and their sites, the new
        contracts' rows summed with the old ones, and a ``novation`` note on the
        new contracts' rows that :func:`~toolkit.scoring.score_entities` copies
        into the audit.

    Raises
    ------
    toolkit.errors.InputError
        Unknown contracts, a contract novated twice, chains, or a new contract
        missing from a program of the old one.

    Examples
    --------
    >>> from toolkit.scoring import load_method
    >>> em = pd.DataFrame({"program": "DMS", "level": "contract", "entity_id": ["C1", "C2"],
    ...                    "parent_id": "", "measure": "full_13", "n": [10, 15],
    ...                    "actual": [3, 5], "expected": [2.5, 4.0]})
    >>> out = apply_novations(em, pd.DataFrame({"old_contract_id": ["C1"], "new_contract_id": ["C2"]}),
    ...                       load_method("des_2018"))
    >>> out[["entity_id", "n", "actual", "expected"]].to_dict("records")
    [{'entity_id': 'C2', 'n': 25, 'actual': 8, 'expected': 6.5}]
    """
    em = validate_entity_measures(entity_measures, method)
    pairs = _check_novations(novations, em)
    contract, site = em["level"] == "contract", em["level"] == "site"
    drop = np.zeros(len(em), dtype=bool)
    merged: list[pd.DataFrame] = []
    for program in sorted(set(em["program"])):
        in_prog = em["program"] == program
        for new in sorted({n for _, n in pairs}):
            olds = [o for o, n in pairs if n == new and ((em["entity_id"] == o) & in_prog & contract).any()]
            if not olds:
                continue
            new_mask = (in_prog & contract & (em["entity_id"] == new)).to_numpy()
            old_mask = (in_prog & contract & em["entity_id"].isin(olds)).to_numpy()
            site_mask = (in_prog & site & em["parent_id"].isin(olds)).to_numpy()
            drop |= new_mask | old_mask | site_mask
            new_rows = em[new_mask]
            notes = [new_rows["novation"].iloc[0]] if new_rows["novation"].iloc[0] else []
            months = float(new_rows["months_operating"].iloc[0])
            for old in olds:
                sites = sorted(set(em.loc[site_mask & (em["parent_id"] == old).to_numpy(), "entity_id"]))
                site_note = f"; its {len(sites)} site(s) no longer rated: {', '.join(sites)}" if sites else ""
                notes.append(
                    f"novation: inherits contract {old}'s records (n, actual, expected added per measure{site_note})"
                )
                old_months = float(em.loc[old_mask & (em["entity_id"] == old).to_numpy(), "months_operating"].iloc[0])
                months = _months(old_months, months, method.novation.months_operating)
            rows = (
                em[new_mask | old_mask].groupby("measure", sort=True)[["n", "actual", "expected"]].sum().reset_index()
            )
            merged.append(
                rows.assign(
                    program=program,
                    level="contract",
                    entity_id=new,
                    parent_id=new_rows["parent_id"].iloc[0],
                    months_operating=months,
                    novation="; ".join(notes),
                )[list(em.columns)]
            )
    return pd.concat([em[~drop], *merged], ignore_index=True)


def _months(old: float, new: float, how: str) -> float:
    """Months operating of the merged contract (NaN: established)."""
    if how == "new":
        return new
    return np.nan if (np.isnan(old) or np.isnan(new)) else max(old, new)


def _check_novations(novations: pd.DataFrame, em: pd.DataFrame) -> list[tuple[str, str]]:
    missing = [c for c in NOVATION_COLUMNS if c not in novations.columns]
    if missing:
        raise InputError(f"novations: missing column(s) {missing}; expected {list(NOVATION_COLUMNS)}")
    old = novations["old_contract_id"].astype(str).tolist()
    new = novations["new_contract_id"].astype(str).tolist()
    contracts = em[em["level"] == "contract"]
    progs = contracts.groupby("entity_id")["program"].agg(lambda s: frozenset(s)).to_dict()
    problems = []
    for i, (o, n) in enumerate(zip(old, new, strict=True), start=1):
        if o not in progs:
            problems.append(f"row {i}: old_contract_id is not a contract of the table")
        if n not in progs:
            problems.append(f"row {i}: new_contract_id is not a contract of the table")
        elif o in progs and not progs[o] <= progs[n]:
            problems.append(f"row {i}: the new contract is missing from a program of the old contract")
        if o == n:
            problems.append(f"row {i}: a contract cannot be novated to itself")
        if old.count(o) > 1:
            problems.append(f"row {i}: the old contract is novated more than once")
        if o in new:
            problems.append(
                f"row {i}: the old contract is itself a new contract of another novation "
                f"(resolve chains to the final contract)"
            )
    if problems:
        raise InputError(f"novations: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems))
    return sorted(zip(old, new, strict=True))
