"""Rule parameters of the derivation (``configs/derive/*.yaml``), read and checked.

Every date, threshold and amount of the seed's rules comes from here; the rule functions
take them as arguments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import model_validator

from toolkit.config import (
    FrozenConfig,
    config_hash,
    load_yaml,
    resolve_config,
    validate_model,
)


def known_claim_types() -> tuple[str, ...]:
    """The claim types events can carry: the ``claim_type`` enum of ``data_contracts/events/claims.yaml``."""
    from toolkit.records.derive.events import event_contracts

    return event_contracts()["claims"].field("claim_type").enum or ()


class Dates(FrozenConfig):
    program_start: dt.date
    education_exclusion_from: dt.date
    ongoing_support_from: dt.date


class ClaimRules(FrozenConfig):
    minimum_amount: float
    outcome_types: tuple[str, ...]
    countable_statuses: tuple[str, ...]
    ea_service_fee: str
    flexible_os_fee: str
    recovery_removes_everywhere: bool
    paid_statuses: tuple[str, ...]


class WindowRules(FrozenConfig):
    drop_records_with_outcome_before_window: bool


class BonusRules(FrozenConfig):
    anchor_weeks_before_end: int
    numerator_claims: tuple[str, ...]
    indigenous_numerator_claims: tuple[str, ...]
    education_anchors_excluded_from_exclusion_date: bool
    tracking_weeks: int


class OngoingSupportRules(FrozenConfig):
    program: str
    min_weeks_in_os: int
    min_weeks_applies_to_all_routes: bool
    verification_weeks: int
    verification_grace_days: int
    transfer_out_between_organisations_in_numerator: bool
    flexible_level: str


#: What ``records.once_per_contract`` (the key before issue 16) became, and why it is refused.
ONCE_PER_CONTRACT_REPLACED = (
    "records.once_per_contract is no longer a key: write records.one_record_per instead. "
    "'site' keeps one record per participant, period of service, site and measure (Table 9: the losing "
    "site includes a participant whose duration in assistance with the organisation passed the threshold; "
    "the release counts the participant once per contract and organisation when it sums the records); "
    "'contract' keeps one per contract, the reading of earlier releases (once_per_contract: true). "
    "once_per_contract: false kept every record, so a participant with two commencements or two anchors "
    "at one site had two records there and the derivation failed its own invariant"
)


class RecordRules(FrozenConfig):
    """``one_record_per``: the entity within which a participant keeps one record per period of
    service and measure, and the level the ``once_per_<entity>`` invariant checks; ``site`` (records
    per site, Table 9) or ``contract`` (earlier releases' reading of Attachment A)."""

    one_record_per: Literal["site", "contract"]
    unlinked_outcomes_count: bool

    @model_validator(mode="before")
    @classmethod
    def _replaced_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "once_per_contract" in data:
            raise ValueError(ONCE_PER_CONTRACT_REPLACED)
        return data


class DeriveParams(FrozenConfig):
    """All parameters of the derivation (see ``configs/derive/des_2018.yaml``)."""

    name: str
    calendar: str
    dates: Dates
    days_per_week: int
    full_pathway_measures: tuple[str, ...]
    threshold_weeks: dict[str, int]
    numerator_claim: dict[str, str]
    removed_by_outcome: dict[str, str]
    eight_hour_benchmark: int
    pathway_measures: tuple[str, ...]
    fifty_two_week_measures: tuple[str, ...]
    fifty_two_week_outcomes: tuple[str, ...]
    education_26_outcomes: tuple[str, ...]
    education_outcome_claims: tuple[str, ...]
    claims: ClaimRules
    window: WindowRules
    bonus: BonusRules
    ongoing_support: OngoingSupportRules
    records: RecordRules

    @model_validator(mode="after")
    def _check(self) -> DeriveParams:
        fp = self.full_pathway_measures
        for key in ("threshold_weeks", "numerator_claim", "removed_by_outcome"):
            if set(getattr(self, key)) != set(fp):
                raise ValueError(f"{key} must list exactly the full_pathway_measures {fp}")
        claims = set(self.numerator_claim.values()) | set(self.removed_by_outcome.values())
        claims |= set(self.bonus.numerator_claims) | set(self.bonus.indigenous_numerator_claims)
        claims |= (
            set(self.fifty_two_week_outcomes) | set(self.education_26_outcomes) | set(self.education_outcome_claims)
        )
        claims |= set(self.claims.outcome_types) | {self.claims.ea_service_fee, self.claims.flexible_os_fee}
        known = known_claim_types()
        unknown = claims - set(known)
        if unknown:
            raise ValueError(f"unknown claim types {sorted(unknown)} (known: {known})")
        if self.days_per_week <= 0 or any(w <= 0 for w in self.threshold_weeks.values()):
            raise ValueError("weeks and days_per_week must be positive")
        if not set(self.pathway_measures) <= set(fp) or not set(self.fifty_two_week_measures) <= set(fp):
            raise ValueError("pathway_measures and fifty_two_week_measures must be full/pathway measures")
        return self

    @property
    def numerator_claim_types(self) -> tuple[str, ...]:
        """Claim types that can be the source of a numerator: each full or pathway measure's
        numerator claim, the bonus and Work Assist claims, and the Indigenous bonus ones."""
        types = [self.numerator_claim[m] for m in self.full_pathway_measures]
        return tuple(
            dict.fromkeys(types + list(self.bonus.numerator_claims) + list(self.bonus.indigenous_numerator_claims))
        )

    def days(self, weeks: int) -> int:
        """Weeks as days (``days_per_week`` per week)."""
        return int(weeks) * self.days_per_week

    @property
    def hash(self) -> str:
        return config_hash(self)


_CACHE: dict = {}


def load_derive_params(path: str = "derive/des_2018.yaml") -> DeriveParams:
    """Read and validate a derivation config (by path, or by name in ``configs/derive``).

    The object is frozen, so a file read once is reused until it changes on disk.
    """
    p = resolve_config(path, "derive")
    key = (str(p.resolve()), p.stat().st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = validate_model(DeriveParams, load_yaml(p), p)
    return _CACHE[key]
