"""Quarterly KPI submissions: which are usable, and the value of each.

A submission that passed its data contract can still not fit the catalogue or the provider's
agreements. Such a row is excluded with one reason (the first that applies, in the order of
:data:`REASONS`) and listed; every row of the input is either used or listed, never dropped.

Values are exact fractions (:mod:`fractions`), so that band edges are met exactly:

=================  ==============================================  =============================
value type         value                                           needs
=================  ==============================================  =============================
percentage         numerator / denominator (0/0: no cases)         whole numbers, num <= den
contract_relative  placement nights / contract minimum nights      denominator > 0
deficit_share      max(0, (expenditure - budget) / budget)         denominator > 0
yes_no             answer yes = 1, no = 0; or num == den > 0       answer, or whole num <= den
count              numerator                                       whole number
=================  ==============================================  =============================
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import SupportsFloat, TypeVar

import numpy as np
import pandas as pd

from toolkit.schemes.dcp.bands import exact
from toolkit.schemes.dcp.catalogue import KPI, Catalogue
from toolkit.schemes.dcp.config import DcpReportConfig, quarter_index

T = TypeVar("T")

#: Exclusion reasons, in the order they are tested.
REASONS = {
    "quarter_outside_window": "the quarter is outside the assessment periods",
    "kpi_unknown": "the KPI id is not in the catalogue",
    "no_agreement": "the provider has no agreement for this service type",
    "agreement_inactive": "the quarter is outside the agreement's quarters",
    "kpi_not_applicable": "the KPI does not apply to this service type (or its condition is false)",
    "not_due": "an annual KPI submitted outside its due quarter",
    "value_form": "the value is not given in the form the KPI's value type needs",
    "not_whole": "a count of cases is not a whole number",
    "numerator_exceeds_denominator": "more cases meet the measure than are eligible",
    "denominator_zero": "the contract minimum or budget is zero",
}


@dataclass
class CheckedSubmissions:
    """Usable submissions (with ``value`` as a Fraction, or None for no cases) and exclusions."""

    used: pd.DataFrame
    exclusions: pd.DataFrame
    n_read: int


def applies(kpi: KPI, service_type: str, flags: dict[str, bool]) -> bool:
    """Whether ``kpi`` applies to a provider's service type with the agreement's flags."""
    if service_type not in kpi.service_types:
        return False
    return kpi.condition is None or bool(flags.get(kpi.condition, False))


def due(kpi: KPI, quarter: str, config: DcpReportConfig) -> bool:
    """Annually assessed KPIs are due once a year, in the configured calendar quarter."""
    return kpi.assessment_frequency != "annually" or int(quarter[5]) == config.annual_due_quarter


def value_of(
    kpi: KPI, num: SupportsFloat | None, den: SupportsFloat | None, answer: str | None
) -> tuple[str | None, Fraction | None]:
    """``(exclusion reason or None, exact value or None for 0/0)`` of one submission.

    An infinite numerator or denominator is not a value of any type (``value_form``).
    """
    has_num, has_den, has_ans = num is not None, den is not None, answer is not None
    vt = kpi.value_type
    if vt == "yes_no":
        if has_ans:
            return (None, Fraction(1 if answer == "yes" else 0)) if not (has_num or has_den) else ("value_form", None)
        if not (has_num and has_den):
            return "value_form", None
    elif has_ans or not has_num or (vt != "count" and not has_den):
        return "value_form", None
    n = _finite(num) if num is not None else None
    d = _finite(den) if den is not None else None
    if n is None or (has_den and d is None):
        return "value_form", None  # an infinite value (a missing numerator was refused above)
    if vt in ("percentage", "yes_no", "count") and (n.denominator != 1 or (d is not None and d.denominator != 1)):
        return "not_whole", None
    if vt == "count":
        return (None, n) if not has_den else ("value_form", None)
    if d is None:
        return "value_form", None  # unreachable: only a count may come without a denominator
    if vt in ("percentage", "yes_no"):
        if n > d:
            return "numerator_exceeds_denominator", None
        if d == 0:
            return None, None  # no eligible cases
        return None, (Fraction(1 if n == d else 0) if vt == "yes_no" else n / d)
    if d == 0:
        return "denominator_zero", None
    if vt == "contract_relative":
        return None, n / d
    return None, max(Fraction(0), (n - d) / d)  # deficit_share


def check_submissions(
    subs: pd.DataFrame, services: pd.DataFrame, catalogue: Catalogue, config: DcpReportConfig
) -> CheckedSubmissions:
    """Check every submission; return the usable ones with their KPI entry and value, and the exclusions."""
    lookup = catalogue.lookup()
    known_ids = {k.id for k in catalogue.kpis}
    first, last = quarter_index(config.periods.first), quarter_index(config.periods.last)
    agreements = {(r.provider_id, r.service_type): r for r in services.itertuples(index=False)}
    rows, reasons = [], []
    for i, r in enumerate(subs.itertuples(index=False)):
        q = quarter_index(r.quarter)
        kpi = lookup.get((r.kpi_id, r.service_type))
        ag = agreements.get((r.provider_id, r.service_type))
        reason, value = None, None
        if not first <= q <= last:
            reason = "quarter_outside_window"
        elif r.kpi_id not in known_ids:
            reason = "kpi_unknown"
        elif ag is None:
            reason = "no_agreement"
        elif q < quarter_index(ag.first_quarter) or (_present(ag.last_quarter) and q > quarter_index(ag.last_quarter)):
            reason = "agreement_inactive"
        elif kpi is None or not applies(kpi, r.service_type, ag._asdict()):
            reason = "kpi_not_applicable"
        elif not due(kpi, r.quarter, config):
            reason = "not_due"
        else:
            reason, value = value_of(kpi, _opt(r.numerator), _opt(r.denominator), _opt(r.answer))
        reasons.append(reason)
        rows.append((i + 1, kpi.stream if kpi is not None and reason is None else None, value))
    out = subs.copy()
    out.insert(0, "row", np.arange(1, len(subs) + 1))
    out["stream"] = [s for _, s, _ in rows]
    out["value_exact"] = pd.Series([v for _, _, v in rows], index=out.index, dtype=object)
    out["reason"] = reasons
    used = out[out["reason"].isna()].drop(columns="reason").reset_index(drop=True)
    excl = out[out["reason"].notna()][["row", "provider_id", "service_type", "kpi_id", "quarter", "reason"]]
    excl = excl.assign(detail=excl["reason"].map(REASONS)).reset_index(drop=True)
    return CheckedSubmissions(used=used, exclusions=excl, n_read=len(subs))


def _finite(x: SupportsFloat) -> Fraction | None:
    """``x`` as an exact fraction; None when it is infinite."""
    v = exact(x)
    return v if isinstance(v, Fraction) else None


def _present(x: object) -> bool:
    return x is not None and not (isinstance(x, float) and np.isnan(x)) and x is not pd.NA


def _opt(x: T) -> T | None:
    return x if _present(x) else None
