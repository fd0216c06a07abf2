"""The release dossier: ``report.html`` and a page per contract, site and organisation
(``entities/<level>/<id>.html``), self-contained (inline CSS, inline SVG, a little inline JavaScript;
no network request), built from a release's aggregate tables only.

:func:`read_dossier_inputs` reads a release folder (or the artifacts of a tracked release downloaded
by ``toolkit report``); :func:`write_dossier` writes the pages. Nothing here computes a rating: the
distance to the next star band comes from :mod:`toolkit.scoring.whatif`. Pages carry aggregates only
(counts, outcomes and expected outcomes per entity and measure), never a participant row or identifier.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.html import render
from toolkit.release.report import MODEL_METRIC_COLUMNS
from toolkit.scoring.config import MethodConfig
from toolkit.scoring.whatif import distances, nearest, program_states

LEVELS = ("organisation", "contract", "site")
CHILD = {"organisation": "contract", "contract": "site"}
PARENT = {"site": "contract", "contract": "organisation"}


@dataclass
class DossierInputs:
    """What the dossier shows: the release's aggregate tables, its method and provenance."""

    name: str
    run_id: str
    tracking_uri: str
    ratings: pd.DataFrame
    entity_measures: pd.DataFrame
    standardisation: pd.DataFrame
    accounting: pd.DataFrame
    exclusions_summary: pd.DataFrame
    model_metrics: pd.DataFrame
    method: MethodConfig
    params: dict[str, str] = field(default_factory=dict)  # flat run params: git_commit, input_sha256.<file>, ...
    calibration: dict[str, pd.DataFrame] = field(default_factory=dict)  # model name -> calibration by decile
    previous: pd.DataFrame | None = None
    failed_checks: list[str] = field(default_factory=list)
    status: str = ""  # the run's status when known (toolkit report), else the checks' verdict
    bayes_diagnostics: pd.DataFrame | None = None


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested params as MLflow stores them: ``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``."""
    out: dict[str, str] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = str(v)
    return out


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"entity_id": str, "parent_id": str})


def read_dossier_inputs(
    folder: Path,
    *,
    method: MethodConfig,
    params: dict[str, str],
    run_id: str,
    tracking_uri: str,
    calibration: dict[str, pd.DataFrame] | None = None,
    previous: pd.DataFrame | None = None,
    status: str = "",
) -> DossierInputs:
    """The dossier's inputs from a release folder's tables (``ratings.csv``, ``entity_measures.csv``,
    ``standardisation.csv``, ``accounting.csv``, ``exclusions_summary.csv``, ``model_metrics.csv``,
    ``release.json``, ``bayes_diagnostics.csv`` when present) and ``models/<key>/calibration.csv`` unless
    ``calibration`` is given."""
    folder = Path(folder)
    record = json.loads((folder / "release.json").read_text()) if (folder / "release.json").is_file() else {}
    metrics = _csv(folder / "model_metrics.csv")
    if calibration is None:
        calibration = {}
        for m in metrics.itertuples():
            p = folder / "models" / f"{str(m.program).lower()}_{m.measure}" / "calibration.csv"
            if p.is_file():
                calibration[str(m.model)] = pd.read_csv(p)
    bayes = folder / "bayes_diagnostics.csv"
    return DossierInputs(
        name=str(record.get("name", params.get("release", ""))),
        run_id=run_id,
        tracking_uri=tracking_uri,
        ratings=_csv(folder / "ratings.csv"),
        entity_measures=_csv(folder / "entity_measures.csv"),
        standardisation=pd.read_csv(folder / "standardisation.csv"),
        accounting=_csv(folder / "accounting.csv"),
        exclusions_summary=_csv(folder / "exclusions_summary.csv"),
        model_metrics=metrics,
        method=method,
        params=params,
        calibration=calibration,
        previous=previous,
        failed_checks=list(record.get("failed_checks", [])),
        status=status,
        bayes_diagnostics=pd.read_csv(bayes) if bayes.is_file() else None,
    )


def safe_name(entity_id: str) -> str:
    """A file name for an entity id: letters, digits, ``.``, ``_`` and ``-`` kept, anything else ``_``,
    with a short hash of the id when something was replaced (so two ids never share a file)."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", entity_id).lstrip(".") or "_"
    if clean != entity_id:
        clean += "-" + hashlib.sha256(entity_id.encode()).hexdigest()[:8]
    return clean[:120]


def entity_href(level: str, entity_id: str) -> str:
    """The page of an entity, relative to the dossier's folder."""
    return f"entities/{level}/{safe_name(entity_id)}.html"


def sibling_href(level: str, entity_id: str) -> str:
    """The page of an entity, relative to another entity's page (``entities/<level>/``)."""
    return f"../{level}/{safe_name(entity_id)}.html"


def _stars(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "no stars"
    k = int(v)
    return "\u2605" * k + "\u2606" * (5 - k)


def _val(v: Any) -> Any:
    """A table cell: numpy scalars as Python numbers, missing as None."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    return v


def _whole(v: Any) -> Any:
    """A whole float as an int (counts), other values unchanged."""
    v = _val(v)
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _rows(df: pd.DataFrame) -> list[list[Any]]:
    return [[_whole(v) for v in row] for row in df.itertuples(index=False)]


_WEIGHT = re.compile(r"^(\S+) n=(\d+)<(\d+) ([\d.]+)->([\d.]+)$")


def explain(note: str) -> str:
    """One note of a ratings row's ``audit`` (toolkit.scoring.audit) in words."""
    if note.startswith("weights: "):
        parts = []
        for item in note.removeprefix("weights: ").split(", "):
            m = _WEIGHT.match(item)
            parts.append(
                f"{m[1]} has {m[2]} participants (fewer than {m[3]}): its weight drops from {m[4]} to {m[5]}"
                if m
                else item
            )
        return "Small denominator: " + "; ".join(parts) + "."
    if note.startswith("to "):
        return "The weight taken off goes to the group's other measures: " + note.removeprefix("to ") + "."
    m = re.match(r"^minimum data not met: n\((\S+)\)=(\d+) < (\d+)$", note)
    if m:
        return (
            f"Minimum data not met: {m[1]} has {m[2]} participants, the method asks for {m[3]}; no calculated rating."
        )
    if note.startswith("substituted: "):
        return (
            "Substitution: the page "
            + note.removeprefix("substituted: ")
            + " (it has no calculated rating of its own)."
        )
    return note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".")


@dataclass
class DossierStats:
    pages: int
    bytes: int
    seconds: float
    path: Path


def star_distribution(ratings: pd.DataFrame) -> pd.DataFrame:
    """Entities per program, level and stars (``no stars`` for none)."""
    r = ratings.assign(
        stars=["no stars" if pd.isna(v) else f"{int(v)} star" + ("" if int(v) == 1 else "s") for v in ratings["stars"]]
    )
    tab = r.pivot_table(index=["program", "level"], columns="stars", values="entity_id", aggfunc="count", fill_value=0)
    return tab.reset_index()


def _distribution_table(ratings: pd.DataFrame, previous: pd.DataFrame | None) -> tuple[list[str], list[list[Any]]]:
    this = star_distribution(ratings).set_index(["program", "level"])
    cols = sorted(c for c in this.columns)
    if previous is None:
        return ["program", "level", *cols], [[p, lv, *[int(x) for x in row]] for (p, lv), row in this.iterrows()]
    prev = star_distribution(previous).set_index(["program", "level"])
    cols = sorted(set(cols) | set(prev.columns))
    this, prev = this.reindex(columns=cols, fill_value=0), prev.reindex(columns=cols, fill_value=0)
    keys = sorted(set(this.index) | set(prev.index))
    rows = []
    for k in keys:
        a = this.loc[k] if k in this.index else pd.Series(0, index=cols)
        b = prev.loc[k] if k in prev.index else pd.Series(0, index=cols)
        rows.append([*k, *[f"{int(a[c])} (previous {int(b[c])})" for c in cols]])
    return ["program", "level", *[f"{c} (previous)" for c in cols]], rows


def _entity_table(ratings: pd.DataFrame) -> tuple[list[str], list[list[Any]], list[str]]:
    cols = ["program", "level", "entity_id", "parent_id", "status", "stars", "star_percentage", "performance_score"]
    r = ratings[cols]
    hrefs = [entity_href(lv, e) for lv, e in zip(r["level"], r["entity_id"], strict=True)]
    return cols, _rows(r), hrefs


def _summary_context(d: DossierInputs, plots: dict[str, Any]) -> dict[str, Any]:
    p = d.params
    verdict = d.status or ("passed" if not d.failed_checks else "failed")
    inputs = sorted((k.removeprefix("input_sha256."), v) for k, v in p.items() if k.startswith("input_sha256."))
    versions = sorted((k.removeprefix("versions."), v) for k, v in p.items() if k.startswith("versions."))
    uri = f" --tracking-uri {d.tracking_uri}" if d.tracking_uri else ""
    nat = d.standardisation.drop_duplicates("program")[["program", "population", "national_average"]]
    std = d.standardisation[["program", "group", "mu", "sd", "population"]]
    acc = d.accounting.fillna("")
    exc = d.exclusions_summary.groupby("reason", as_index=False)["records"].sum() if len(d.exclusions_summary) else None
    mcols = [c for c in MODEL_METRIC_COLUMNS if c in d.model_metrics.columns]
    dist_cols, dist_rows = _distribution_table(d.ratings, d.previous)
    ecols, erows, ehrefs = _entity_table(d.ratings)
    bayes_rows = None
    if d.bayes_diagnostics is not None:
        bayes_rows = (list(d.bayes_diagnostics.columns), _rows(d.bayes_diagnostics))
    return {
        "title": f"Release {d.name}: dossier",
        "verdict": verdict,
        "failed": d.failed_checks,
        "provenance": [
            ("MLflow run", d.run_id),
            ("tracking store", d.tracking_uri),
            ("git commit", p.get("git_commit", "")),
            ("uncommitted changes (dirty)", p.get("git_dirty", "")),
            ("config hash", p.get("config_hash", "")),
            ("method hash", p.get("method_hash", "")),
            ("model set hash", p.get("models_hash", "")),
            ("records source", p.get("records_source", "")),
            ("seed", p.get("seed", "")),
            ("previous ratings SHA-256", p.get("previous_sha256", "") or "none"),
        ],
        "inputs": inputs,
        "versions": versions,
        "reproduce": f"toolkit reproduce {d.run_id}{uri}",
        "rebuild": f"toolkit report {d.run_id}{uri}",
        "dist": (dist_cols, dist_rows),
        "has_previous": d.previous is not None,
        "national": (list(nat.columns), _rows(nat)),
        "std": (list(std.columns), _rows(std)),
        "accounting": (list(acc.columns), _rows(acc)),
        "exclusions": (["reason", "records"], _rows(exc)) if exc is not None and len(exc) else None,
        "metrics": (mcols, _rows(d.model_metrics[mcols])),
        "plots": plots,
        "bayes": bayes_rows,
        "entities": (ecols, erows, ehrefs),
    }


def _summary_plots(d: DossierInputs) -> dict[str, Any]:
    from toolkit.release import dossier_plots as dp

    out: dict[str, Any] = {}
    sites = d.entity_measures[d.entity_measures["level"] == "site"]
    for prog in sorted(d.ratings["program"].unique()):
        part: dict[str, Any] = {}
        mm = d.model_metrics[d.model_metrics["program"] == prog]
        cal = {str(m.measure): d.calibration[str(m.model)] for m in mm.itertuples() if str(m.model) in d.calibration}
        if cal:
            part["calibration"] = dp.calibration_svg(prog, cal)
        measures = sorted(mm["measure"].astype(str))
        if measures:
            part["funnel"] = dp.funnel_svg(prog, sites[sites["program"] == prog], measures)
        r = d.ratings
        if "bayes_star_percentage" in r.columns:
            c = r[(r["program"] == prog) & (r["level"] == "contract") & r["calculated"]]
            c = c.dropna(subset=["bayes_star_percentage"])
            if len(c):
                part["bayes"] = dp.bayes_svg(prog, c)
        out[prog] = part
    return out


def _waterfall(national: float, contributions: list[tuple[str, float]], score: float) -> list[dict[str, Any]]:
    """CSS bars from the national average to the score: each step's left edge and width in % of the axis."""
    points = [national]
    for _, c in contributions:
        points.append(points[-1] + c)
    lo, hi = min([*points, score, 0.0]), max([*points, score])
    span = (hi - lo) or 1.0

    def pct(v: float) -> float:
        return round(100 * (v - lo) / span, 2)

    bars = [{"label": "national average", "left": pct(lo), "width": pct(national), "value": national, "kind": "base"}]
    run = national
    for label, c in contributions:
        a, b = sorted((run, run + c))
        bars.append(
            {
                "label": label,
                "left": pct(a),
                "width": round(max(pct(b) - pct(a), 0.3), 2),
                "value": c,
                "kind": "up" if c >= 0 else "down",
            }
        )
        run += c
    bars.append({"label": "performance score", "left": pct(lo), "width": pct(score), "value": score, "kind": "base"})
    return bars


def _entity_program(
    d: DossierInputs,
    row: pd.Series,
    em: pd.DataFrame,
    near: pd.DataFrame,
    prev: pd.Series | None,
    children: list[tuple[str, str, str]],
) -> dict[str, Any]:
    prog = str(row["program"])
    pm = d.method.program_method(prog)
    group_of = {m: g for g in pm.groups for m in pm.measures if pm.membership[pm.measures.index(m), pm.groups.index(g)]}
    nat = _val(row["national_average"])
    measures = []
    contributions = []
    for m in pm.measures:
        r = em[em["measure"] == m]
        n = float(r["n"].iloc[0]) if len(r) else 0.0
        a = float(r["actual"].iloc[0]) if len(r) else 0.0
        e = float(r["expected"].iloc[0]) if len(r) else 0.0
        g = group_of[m]
        score = _val(row.get(f"score_{g}"))
        w = _val(row.get(f"weight_{m}")) or 0.0
        contrib = w * score if score is not None else None
        measures.append([m, g, _whole(n), _whole(a), e, (a / e) if e > 0 else None, score, w, contrib])
        if score is not None and nat is not None and w > 0 and row["calculated"]:
            contributions.append((m, w * (score - nat)))
    score_ = _val(row["performance_score"])
    water = _waterfall(nat, contributions, score_) if (score_ is not None and nat is not None) else None
    up = near[near["direction"] == "up"]
    down = near[near["direction"] == "down"]
    probs = None
    star_keys = [c for c in row.index if str(c).startswith("p_star_")]
    if star_keys and _val(row[star_keys[0]]) is not None:
        probs = [(str(k).removeprefix("p_star_"), round(100 * float(row[k]), 1)) for k in star_keys]
    text = _val(row.get("audit"))
    audit = [explain(x.strip()) for x in str(text or "").split(";") if x.strip() and x.strip() not in ("<NA>", "nan")]
    history = []
    if prev is not None:
        history.append(
            ("previous release", _stars(prev.get("stars")), _val(prev.get("star_percentage")), prev["status"])
        )
    history.append(("this release", _stars(row["stars"]), _val(row["star_percentage"]), row["status"]))
    return {
        "program": prog,
        "status": row["status"],
        "stars": _stars(row["stars"]),
        "stars_n": _whole(row["stars"]),
        "star_percentage": _whole(row["star_percentage"]),
        "calculated": bool(row["calculated"]),
        "calculated_stars": _stars(row["calculated_stars"]),
        "performance_score": score_,
        "national": nat,
        "measures": measures,
        "waterfall": water,
        "audit": audit,
        "up": None if up.empty else up.iloc[0].to_dict(),
        "down": None if down.empty else down.iloc[0].to_dict(),
        "probs": probs,
        "history": history,
        "children": children,
    }


def write_dossier(out: Path, d: DossierInputs) -> DossierStats:
    """Write ``report.html`` and ``entities/<level>/<id>.html`` under ``out``; returns pages, bytes, seconds."""
    t0 = time.perf_counter()
    out = Path(out)
    states = program_states(d.entity_measures, d.method, d.standardisation)
    dist = pd.concat([distances(s) for s in states.values()], ignore_index=True) if states else pd.DataFrame()
    near = nearest(dist) if len(dist) else pd.DataFrame(columns=["program", "level", "entity_id", "direction"])
    plots = _summary_plots(d)
    ctx = _summary_context(d, plots)
    written = 0
    size = 0
    html = render("dossier.html.j2", **ctx)
    (out / "report.html").write_text(html, encoding="utf-8")
    written, size = 1, len(html.encode())
    ratings = d.ratings
    em_groups = {k: g for k, g in d.entity_measures.groupby(["program", "level", "entity_id"], sort=False)}  # noqa: C416
    near_groups = {k: g for k, g in near.groupby(["program", "level", "entity_id"], sort=False)}  # noqa: C416
    prev_rows: dict[tuple[str, str, str], pd.Series] = {}
    if d.previous is not None:
        prev_rows = {(str(r["program"]), str(r["level"]), str(r["entity_id"])): r for _, r in d.previous.iterrows()}
    kids: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}
    for r in ratings[["program", "level", "entity_id", "parent_id", "stars"]].itertuples(index=False):
        if r.level in PARENT and isinstance(r.parent_id, str) and r.parent_id:
            kids.setdefault((r.program, PARENT[r.level], r.parent_id), []).append(
                (r.entity_id, sibling_href(r.level, r.entity_id), _stars(r.stars))
            )
    empty = pd.DataFrame(columns=["measure", "n", "actual", "expected", "direction"])
    for (level, eid), rows in ratings.groupby(["level", "entity_id"], sort=False):
        programs = []
        parent = None
        for _, row in rows.iterrows():
            key = (str(row["program"]), str(level), str(eid))
            programs.append(
                _entity_program(
                    d,
                    row,
                    em_groups.get(key, empty),
                    near_groups.get(key, empty),
                    prev_rows.get(key),
                    sorted(kids.get(key, [])),
                )
            )
            pid = row["parent_id"]
            if str(level) in PARENT and isinstance(pid, str) and pid:
                parent = (PARENT[str(level)], pid, sibling_href(PARENT[str(level)], pid))
        page = render(
            "entity.html.j2",
            title=f"{str(level).capitalize()} {eid}",
            level=level,
            entity_id=eid,
            parent=parent,
            programs=programs,
            release=d.name,
            run_id=d.run_id,
        )
        path = out / entity_href(str(level), str(eid))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
        written += 1
        size += len(page.encode())
    return DossierStats(written, size, time.perf_counter() - t0, out / "report.html")
