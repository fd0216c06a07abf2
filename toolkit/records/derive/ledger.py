"""Nothing is lost silently: the derivation log and the excluded events.

Every rule has an id, a reason (a sentence for people) and the seed section it rests on
(:data:`RULES`). A :class:`Funnel` applies a measure's rules in order to its candidate
records: each candidate still alive that fails a rule is excluded with that rule as its
reason, and the log counts, per rule, what it considered, excluded and kept (and how many
it kept only because the participant achieved the measure's outcome, the principal rule's
exception). Events that are not used (claims under one dollar, events after the cut-off,
...) are recorded the same way by :meth:`Ledger.exclude`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

RULES: dict[str, tuple[str, str]] = {
    # events as at the cut-off. (Events of a participant and period of service with no site
    # commencement never get here: the foreign keys of data_contracts/events/ reject them, and
    # events.to_working raises for them, so there is no rule for them.)
    "after_cutoff": ("dated after the release's claim cut-off, so not known at the cut-off", "Claim cut-off date"),
    # claims
    "claim_under_one_dollar": (
        "claim under one dollar (including zero), excluded whatever its status",
        "principal rules",
    ),
    "claim_status": ("claim is not pending or approved", "Table 2; principal rules"),
    "claim_recovery": ("claim identified and confirmed for recovery", "principal rules"),
    "claim_no_site_commencement": ("claim lodged at a site where the participant had not commenced", "Attachment A"),
    "claim_education_from_exclusion_date": (
        "outcome for an Education Placement commenced on or after the exclusion date",
        "Education Outcomes excluded",
    ),
    "claim_placement_before_program": ("outcome for a placement commenced before the program start", "Table 1 note b"),
    "claim_lodged_before_window": (
        "outcome claim lodged before the assessment window",
        "Two Year Rolling Assessment Period",
    ),
    "claim_record_excluded": ("the outcome's record was excluded (see the record's reason)", "Table 2; Attachment A"),
    "claim_duplicate": ("a second claim for a record already in the numerator", "Table 2 note 1"),
    "claim_no_anchor": ("bonus or Work Assist claim not linked to a placement", "Table 2 (26-Week Bonus, Work Assist)"),
    "claim_other_site": (
        "bonus or Work Assist claim lodged at a site other than the anchor's record site",
        "Table 9 (losing site not included)",
    ),
    # full and pathway records
    "window_four_conditions": (
        "none of the four inclusion conditions of the two-year rolling period holds",
        "Two Year Rolling Assessment Period",
    ),
    "outcome_lodged_before_window": (
        "the measure's outcome was lodged before the window",
        "Two Year Rolling Assessment Period (reading)",
    ),
    "outcome_at_previous_site": (
        "the outcome was already achieved at a previous site of the organisation",
        "Attachment A overarching rules",
    ),
    "duration_threshold": ("duration in assistance below the measure's threshold", "Table 2; Attachment A"),
    "ea_service_fee": (
        "no pending or approved Employment Assistance Service Fee claimed by the provider",
        "principal rules",
    ),
    "removed_by_paired_outcome": (
        "achieved the paired outcome (pathway removes from full, full from pathway)",
        "Table 2",
    ),
    "eight_hour_benchmark": ("eight-hour employment benchmark", "Table 2 (pathway measures)"),
    "education_26_outcome": ("achieved a 26-week full or pathway outcome for education", "Table 2 (52-week measures)"),
    "once_per_site": (
        "another record of the participant at this site for this measure and period is kept "
        "(a second commencement at the site, or a second anchor tracked there)",
        "Table 2 note 1; Attachment A",
    ),
    "once_per_contract": (
        "already counted at another site of the contract (or this site) for this measure and period "
        "(earlier releases' reading, records.one_record_per: contract)",
        "Attachment A",
    ),
    # bonus / Work Assist
    "anchor_type": (
        "placement is not an apprenticeship/traineeship, directly related employment, Work Assist, "
        "or an Indigenous participant's placement",
        "Table 2 (26-Week Bonus, Work Assist)",
    ),
    "anchor_before_program": ("anchor before the program start", "Table 2 note 2; Work Assist measure"),
    "anchor_within_26_weeks": ("anchor less than 26 weeks before the end of the period", "Table 2 (26-Week Bonus)"),
    "anchor_education_from_exclusion_date": (
        "Education Placement commenced on or after the exclusion date",
        "Education Outcomes excluded (reading)",
    ),
    "anchor_no_tracking_site": ("no site commencement while tracking towards the outcome", "Attachment A; Table 9"),
    # Ongoing Support
    "os_not_last_site": (
        "not the last of the organisation's sites where the participant was in Ongoing Support",
        "Attachment A (Ongoing Support)",
    ),
    "os_no_assessment": (
        "no Ongoing Support Assessment recommending further Ongoing Support",
        "Table 2 (Ongoing Support)",
    ),
    "os_before_start": ("not in the Ongoing Support phase on or after the measure's start date", "Table 2 note 3"),
    "os_no_route": (
        "not a transition participant, not after a 52-week outcome, not a former Work Assist participant",
        "Table 2 (Ongoing Support)",
    ),
    "os_min_weeks": ("fewer than 26 calendar weeks in the Ongoing Support phase", "Table 2 (Ongoing Support); note 3"),
    "os_flexible_fee": (
        "Flexible Ongoing Support without a pending or approved Flexible Ongoing Support fee",
        "Ongoing Support performance measure",
    ),
}

EXCLUDED_COLUMNS = [
    "table",
    "rule",
    "reason",
    "measure",
    "participant_id",
    "period_of_service",
    "site_id",
    "event_id",
    "event_date",
]
LOG_COLUMNS = ["measure", "step", "rule", "seed_section", "considered", "excluded", "kept", "kept_by_outcome"]


@dataclass
class Ledger:
    """Collects excluded events (with their rule) and the per-rule log rows."""

    parts: list = field(default_factory=list)
    rows: list = field(default_factory=list)

    def exclude(
        self,
        table: str,
        rule: str,
        pkey: np.ndarray,
        site: np.ndarray | None = None,
        measure: str | np.ndarray = "",
        event_id: np.ndarray | None = None,
        event_date: np.ndarray | None = None,
        log_measure: str | None = None,
        considered: int | None = None,
    ) -> None:
        """Record excluded events of ``table`` under ``rule`` and log how many of ``considered`` it excluded."""
        if rule not in RULES:
            raise KeyError(f"unknown rule {rule!r}")  # a bug: every rule is registered
        n = len(pkey)
        self.log(log_measure if log_measure is not None else table, rule, n if considered is None else considered, n, 0)
        if n == 0:
            return
        self.parts.append(
            pd.DataFrame(
                {
                    "table": table,
                    "rule": rule,
                    "measure": measure,
                    "pkey": np.asarray(pkey),
                    "site": np.asarray(site) if site is not None else -1,
                    "event_id": np.asarray(event_id, dtype=object) if event_id is not None else "",
                    "event_date": np.asarray(event_date) if event_date is not None else 0,
                }
            )
        )

    def log(self, measure: str, rule: str, considered: int, excluded: int, kept_by_outcome: int) -> None:
        self.rows.append(
            {
                "measure": measure,
                "step": len([r for r in self.rows if r["measure"] == measure]) + 1,
                "rule": rule,
                "seed_section": RULES[rule][1],
                "considered": int(considered),
                "excluded": int(excluded),
                "kept": int(considered - excluded),
                "kept_by_outcome": int(kept_by_outcome),
            }
        )

    def log_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=LOG_COLUMNS)

    def excluded_frame(self, people: pd.DataFrame, sites: pd.Index) -> pd.DataFrame:
        """Excluded events with participant and site identifiers, in a stable order."""
        from toolkit.records.derive.events import from_days, take

        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in EXCLUDED_COLUMNS})
        ex = pd.concat(self.parts, ignore_index=True)
        site = ex["site"].to_numpy()
        site_ids = take(sites.to_numpy(dtype=object), site, None)
        out = pd.DataFrame(
            {
                "table": ex["table"].astype("category"),
                "rule": ex["rule"].astype("category"),
                "reason": ex["rule"].map({k: v[0] for k, v in RULES.items()}).astype("category"),
                "measure": ex["measure"].astype("category"),
                "participant_id": people["participant_id"].to_numpy()[ex["pkey"].to_numpy()],
                "period_of_service": people["period_of_service"].to_numpy()[ex["pkey"].to_numpy()],
                "site_id": site_ids,
                "event_id": ex["event_id"].astype(object),
                "event_date": from_days(ex["event_date"].to_numpy()),
            }
        )
        return out.sort_values(
            ["table", "measure", "rule", "participant_id", "period_of_service"], kind="stable", ignore_index=True
        )


class Funnel:
    """A measure's candidates and the rules they pass in order.

    ``numerator`` marks candidates whose measure outcome was achieved at the site: a rule
    applied with ``outcome_exception=True`` keeps them even if they fail it (principal rules:
    "Participants who do not meet the standard criteria for inclusion in the denominator are
    included in the denominator if an Outcome ... has been achieved").
    """

    def __init__(self, ledger: Ledger, measure: str, table: str, cand: pd.DataFrame, numerator: np.ndarray):
        self.ledger, self.measure, self.table, self.cand = ledger, measure, table, cand
        self.alive = np.ones(len(cand), bool)
        self.numerator = np.asarray(numerator, bool)

    def apply(self, rule: str, passes: np.ndarray, outcome_exception: bool = False) -> None:
        passes = np.asarray(passes, bool)
        keep = passes | self.numerator if outcome_exception else passes
        considered = int(self.alive.sum())
        drop = self.alive & ~keep
        by_outcome = int((self.alive & ~passes & keep).sum())
        self.ledger.log(self.measure, rule, considered, int(drop.sum()), by_outcome)
        if drop.any():
            c = self.cand.loc[drop]
            self.ledger.parts.append(
                pd.DataFrame(
                    {
                        "table": self.table,
                        "rule": rule,
                        "measure": self.measure,
                        "pkey": c["pkey"].to_numpy(),
                        "site": c["site"].to_numpy(),
                        "event_id": c["event_id"].to_numpy() if "event_id" in c else "",
                        "event_date": c["event_date"].to_numpy() if "event_date" in c else c["c"].to_numpy(),
                    }
                )
            )
        self.alive &= keep

    def kept(self) -> pd.DataFrame:
        return self.cand.loc[self.alive]
