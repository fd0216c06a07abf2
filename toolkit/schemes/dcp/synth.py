"""Synthetic DCP KPI submissions with known truth, including missing and malformed ones.

``generate_submissions(seed)`` draws providers and their contracted service types, a latent
quality per provider, and one submission per expected KPI-quarter; then it removes some
(``truth/missing.csv``) and injects malformed rows, each labelled with the exclusion reason the
report must give it (``truth/malformed.csv``). One integer seed, split with
:class:`numpy.random.SeedSequence` into independent streams for structure, values and defects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from toolkit.config import FrozenConfig, config_reference, load_yaml, resolve_config, validate_model
from toolkit.errors import ConfigError
from toolkit.output import prepare_folder, write_csv_tables
from toolkit.schemes.dcp.assess import expected_submissions
from toolkit.schemes.dcp.catalogue import Catalogue, load_catalogue
from toolkit.schemes.dcp.config import (
    DcpReportConfig,
    catalogue_path,
    load_report_config,
    quarter_index,
    quarter_label,
)
from toolkit.schemes.dcp.submissions import REASONS

FLAGS = ("block_funded", "section_36_facility", "specific_child_or_kinship")
SUB_COLUMNS = ["provider_id", "service_type", "kpi_id", "quarter", "numerator", "denominator", "answer", "submitted_on"]


class Span(FrozenConfig):
    min: int = Field(ge=1)
    max: int = Field(ge=1)


class DcpSynthConfig(FrozenConfig):
    report: str
    providers: int = Field(ge=2)
    service_types_per_provider: Span
    service_type_weights: dict[str, float]
    flag_probability: dict[str, float]
    late_start_probability: float = Field(ge=0, le=1)
    early_end_probability: float = Field(ge=0, le=1)
    quality_sd: float = Field(ge=0)
    poor_providers: int = Field(ge=0)
    percentage_base: float = Field(gt=0, lt=1)
    no_cases_probability: float = Field(ge=0, le=1)
    yes_probability_base: float = Field(gt=0, lt=1)
    yes_no_as_counts_probability: float = Field(ge=0, le=1)
    missing_probability: float = Field(ge=0, le=1)
    missed_quarters: int = Field(ge=0)
    malformed: dict[str, int]


@dataclass
class DcpWorld:
    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]


def load_synth_config(path: str | Path = "schemes/dcp/synth.yaml") -> tuple[DcpSynthConfig, Path]:
    p = resolve_config(path, "schemes/dcp")
    cfg = validate_model(DcpSynthConfig, load_yaml(p), p)
    unknown = set(cfg.malformed) - set(REASONS)
    if unknown:
        raise ConfigError(f"{p}: malformed kinds {sorted(unknown)} are not exclusion reasons ({', '.join(REASONS)})")
    return cfg, p


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _structure(
    rng: np.random.Generator, cfg: DcpSynthConfig, rc: DcpReportConfig, cat: Catalogue
) -> tuple[pd.DataFrame, pd.DataFrame]:
    providers = pd.DataFrame(
        {
            "provider_id": [f"P{i:03d}" for i in range(1, cfg.providers + 1)],
            "provider_name": [f"Synthetic provider {i}" for i in range(1, cfg.providers + 1)],
        }
    )
    types = [t for t in cfg.service_type_weights if t in cat.service_types]
    w = np.array([cfg.service_type_weights[t] for t in types], dtype=float)
    first, last = quarter_index(rc.periods.first), quarter_index(rc.periods.last)
    rows = []
    for pid in providers["provider_id"]:
        k = int(rng.integers(cfg.service_types_per_provider.min, cfg.service_types_per_provider.max + 1))
        for st in sorted(rng.choice(types, size=min(k, len(types)), replace=False, p=w / w.sum())):
            q0 = first + (int(rng.integers(1, 3)) if rng.random() < cfg.late_start_probability else 0)
            q1 = last - int(rng.integers(1, 3)) if rng.random() < cfg.early_end_probability else None
            rows.append(
                {
                    "provider_id": pid,
                    "service_type": st,
                    "first_quarter": quarter_label(q0),
                    "last_quarter": quarter_label(q1) if q1 is not None else None,
                    **{f: bool(rng.random() < cfg.flag_probability.get(f, 0.5)) for f in FLAGS},
                }
            )
    return providers, pd.DataFrame(rows)


def _value(rng: np.random.Generator, kpi_vt: str, kpi_id: str, quality: float, cfg: DcpSynthConfig) -> dict[str, Any]:
    if kpi_vt == "percentage":
        if rng.random() < cfg.no_cases_probability:
            return {"numerator": 0, "denominator": 0}
        den = 1 + int(rng.poisson(15))
        p = 1 / (1 + np.exp(-(_logit(cfg.percentage_base) + quality + rng.normal(0, 0.5))))
        return {"numerator": int(rng.binomial(den, p)), "denominator": den}
    if kpi_vt == "yes_no":
        yes = rng.random() < 1 / (1 + np.exp(-(_logit(cfg.yes_probability_base) + quality)))
        if rng.random() < cfg.yes_no_as_counts_probability:
            den = 1 + int(rng.poisson(6))
            return {"numerator": den if yes else int(rng.integers(0, den)), "denominator": den}
        return {"answer": "yes" if yes else "no"}
    if kpi_vt == "contract_relative":
        den = 91 * int(rng.integers(3, 25))
        share = max(0.0, rng.normal(0.97 + 0.03 * quality, 0.04))
        return {"numerator": round(den * share), "denominator": den}
    if kpi_vt == "deficit_share":
        budget = round(float(rng.uniform(2e5, 2e6)), 2)
        return {"numerator": round(budget * (1 + rng.normal(-0.01 - 0.02 * quality, 0.04)), 2), "denominator": budget}
    return {"numerator": int(rng.poisson(5))}  # count


def generate_submissions(seed: int = 2024, config: str | Path = "schemes/dcp/synth.yaml") -> DcpWorld:
    """A synthetic set of DCP tables (providers, provider_services, kpi_submissions) and its truth."""
    cfg, cpath = load_synth_config(config)
    rc, rpath = load_report_config(config_reference(cfg.report, "report", cpath, relative_to=cpath.parent))
    cat = load_catalogue(catalogue_path(rc, rpath))
    s_struct, s_vals, s_defects = np.random.SeedSequence(seed).spawn(3)
    rng = np.random.default_rng(s_struct)
    providers, services = _structure(rng, cfg, rc, cat)
    quality = rng.normal(0, cfg.quality_sd, len(providers))
    quality[: cfg.poor_providers] = -2.5
    qmap = dict(zip(providers["provider_id"], quality, strict=True))
    expected = expected_submissions(services, cat, rc)
    entries = {k.key: k for k in cat.kpis}
    rng = np.random.default_rng(s_vals)
    subs = []
    for r in expected.itertuples(index=False):
        kpi = entries[(r.kpi_id, r.stream)]
        subs.append(
            {
                "provider_id": r.provider_id,
                "service_type": r.service_type,
                "kpi_id": r.kpi_id,
                "quarter": r.quarter,
                **_value(rng, kpi.value_type, kpi.id, qmap[r.provider_id], cfg),
            }
        )
    subs = pd.DataFrame(subs).reindex(columns=SUB_COLUMNS)
    rng = np.random.default_rng(s_defects)
    # missing: whole provider-quarters, then single submissions
    pq = subs[["provider_id", "quarter"]].drop_duplicates().reset_index(drop=True)
    gone_pq = pq.iloc[rng.choice(len(pq), size=min(cfg.missed_quarters, len(pq)), replace=False)]
    drop = (
        subs.merge(gone_pq, on=["provider_id", "quarter"], how="left", indicator=True)["_merge"]
        .eq("both")
        .to_numpy()
        .copy()
    )
    drop |= rng.random(len(subs)) < cfg.missing_probability
    missing = subs.loc[drop, ["provider_id", "service_type", "kpi_id", "quarter"]].reset_index(drop=True)
    subs = subs.loc[~drop].reset_index(drop=True)
    subs, malformed = _inject(rng, subs, services, cat, rc, cfg)
    q_end = {
        q: (pd.Period(f"{q[:4]}Q{q[5]}", "Q").end_time + pd.Timedelta(days=20)).date() for q in subs["quarter"].unique()
    }
    subs["submitted_on"] = subs["quarter"].map(q_end)
    subs = subs.sort_values(["provider_id", "service_type", "quarter", "kpi_id"]).reset_index(drop=True)
    for c in ("numerator", "denominator"):  # whole numbers written without ".0", as a provider's file has them
        subs[c] = pd.Series(
            [None if pd.isna(x) else int(x) if float(x).is_integer() else float(x) for x in subs[c]],
            index=subs.index,
            dtype=object,
        )
    truth = {
        "provider_quality": pd.DataFrame({"provider_id": providers["provider_id"], "quality": quality}),
        "missing": missing,
        "malformed": malformed,
    }
    return DcpWorld(
        tables={"providers": providers, "provider_services": services, "kpi_submissions": subs}, truth=truth
    )


#: Malformed kinds made by editing a submission that is already there (the others add a row).
EDITED = ("numerator_exceeds_denominator", "not_whole", "value_form", "denominator_zero")
KEY = ["provider_id", "service_type", "kpi_id", "quarter"]


@dataclass
class _Injection:
    """The submissions being broken, and every row marked so far with its reason.

    ``marked`` rows carry ``_i`` (the index of an edited submission) or ``_new`` (a row to add);
    ``taken`` holds the keys of every submission, so that an added row never duplicates one.
    """

    rng: np.random.Generator
    subs: pd.DataFrame
    value_type: pd.Series
    taken: set[tuple[object, ...]]
    marked: list[dict[str, Any]] = field(default_factory=list)

    def pick(self, mask: pd.Series) -> int | None:
        """A random submission where ``mask`` holds that is not edited yet (None if there is none)."""
        edited = [m["_i"] for m in self.marked if "_i" in m]
        idx = np.flatnonzero(mask.to_numpy() & ~self.subs.index.isin(edited))
        return int(self.rng.choice(idx)) if len(idx) else None

    def add(self, row: dict[str, Any], reason: str) -> None:
        """Mark ``row`` to be added, unless a submission with its key exists."""
        k = tuple(row[c] for c in KEY)
        if k in self.taken:
            return
        self.taken.add(k)
        self.marked.append({**row, "reason": reason, "_new": True})


def _inject(
    rng: np.random.Generator,
    subs: pd.DataFrame,
    services: pd.DataFrame,
    cat: Catalogue,
    rc: DcpReportConfig,
    cfg: DcpSynthConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace or add submissions so that each malformed kind appears ``cfg.malformed[kind]`` times."""
    lookup = cat.lookup()
    subs = subs.copy()
    inj = _Injection(
        rng=rng,
        subs=subs,
        value_type=subs.apply(lambda r: lookup[(r["kpi_id"], r["service_type"])].value_type, axis=1),
        taken=set(map(tuple, subs[KEY].to_numpy())),
    )
    svc = {(r.provider_id, r.service_type) for r in services.itertuples(index=False)}
    for reason, n in sorted(cfg.malformed.items()):
        for _ in range(n):
            base = subs.iloc[int(rng.integers(len(subs)))].to_dict()  # drawn for every kind, used by added rows
            if reason in EDITED:
                _edit(inj, reason)
            else:
                row = _added_row(rng, reason, base, cat, rc, svc)
                if row is not None:
                    inj.add(row, reason)
    return _with_added(inj), _malformed_truth(inj.marked)


def _edit(inj: _Injection, reason: str) -> None:
    """Break one existing submission so that it gets ``reason`` (nothing when none qualifies)."""
    subs, vt = inj.subs, inj.value_type
    if reason == "numerator_exceeds_denominator":
        i = inj.pick(vt.eq("percentage") & subs["denominator"].fillna(0).gt(0))
        if i is not None:
            subs.loc[i, "numerator"] = subs.loc[i, "denominator"] + 1
    elif reason == "not_whole":
        i = inj.pick(vt.eq("percentage") & subs["denominator"].fillna(0).gt(1))
        if i is not None:
            subs.loc[i, "numerator"] = subs.loc[i, "denominator"] - 0.5
    elif reason == "value_form":
        i = inj.pick(vt.eq("percentage") & subs["denominator"].notna())
        if i is not None:
            subs.loc[i, "denominator"] = np.nan
    elif reason == "denominator_zero":
        i = inj.pick(vt.isin(["contract_relative", "deficit_share"]))
        if i is not None:
            subs.loc[i, "denominator"] = 0
    else:
        raise ValueError(f"{reason} is not made by editing a submission")
    if i is not None:
        inj.marked.append({**subs.loc[i].to_dict(), "reason": reason, "_i": i})


def _added_row(
    rng: np.random.Generator,
    reason: str,
    base: dict[str, Any],
    cat: Catalogue,
    rc: DcpReportConfig,
    svc: set[tuple[str, str]],
) -> dict[str, Any] | None:
    """A new submission that gets ``reason``, made from ``base`` (a random existing one) or from scratch."""
    first = quarter_index(rc.periods.first)
    if reason == "kpi_unknown":
        return {**base, "kpi_id": "999"}
    if reason == "quarter_outside_window":
        return {**base, "quarter": quarter_label(first - 1 - int(rng.integers(0, 4)))}
    if reason == "kpi_not_applicable":
        lookup = cat.lookup()
        wrong = [
            k
            for k in cat.kpis
            if base["service_type"] not in k.service_types
            and not any((k.id, st) in lookup for st in [base["service_type"]])
        ]
        k = wrong[int(rng.integers(len(wrong)))]
        return {**base, "kpi_id": k.id, "numerator": 1, "denominator": 1, "answer": None}
    if reason == "no_agreement":
        others = [st for st in cat.service_types if (base["provider_id"], st) not in svc]
        return {**base, "service_type": others[int(rng.integers(len(others)))]}
    if reason == "not_due":
        annual = [
            (k, st, p)
            for k in cat.kpis
            if k.assessment_frequency == "annually"
            for st in k.service_types
            for (p, s2) in sorted(svc)
            if s2 == st
        ]
        k, st, pid = annual[int(rng.integers(len(annual)))]
        never_due = [q for q in range(first, first + 4) if (q % 4) + 1 != rc.annual_due_quarter]
        q = quarter_label(never_due[int(rng.integers(len(never_due)))])
        return {
            "provider_id": pid,
            "service_type": st,
            "kpi_id": k.id,
            "quarter": q,
            "answer": "yes",
            "numerator": None,
            "denominator": None,
        }
    return None  # an exclusion reason the generator does not make


def _with_added(inj: _Injection) -> pd.DataFrame:
    """The submissions with the marked new rows appended."""
    new = pd.DataFrame([{c: m.get(c) for c in SUB_COLUMNS} for m in inj.marked if m.get("_new")], columns=SUB_COLUMNS)
    return pd.concat([inj.subs, new], ignore_index=True) if len(new) else inj.subs


def _malformed_truth(marked: list[dict[str, Any]]) -> pd.DataFrame:
    """``truth/malformed.csv``: the key and expected exclusion reason of every broken submission."""
    return (
        pd.DataFrame([{**{c: m[c] for c in KEY}, "reason": m["reason"]} for m in marked], columns=KEY + ["reason"])
        .sort_values(KEY)
        .reset_index(drop=True)
    )


def write_dcp_world(world: DcpWorld, out: str | Path, overwrite: bool = False) -> Path:
    """Write the tables as CSV (as providers would send them) and ``truth/``."""
    out = prepare_folder(out, overwrite)
    write_csv_tables(out, world.tables)
    write_csv_tables(out / "truth", world.truth)
    return out
