"""What an evaluation computes, with no I/O and no tracking: folds, tasks, out-of-fold tables, subgroup
calibration and rating impact.

The unit of work is a :class:`FoldTask`: one candidate fitted on one measure x program with one fold
held out (or on all records, ``fold = -1``, for the rating impact). :func:`run_fold_task` is a top-level
function of the task alone (the task carries the measure's records without ids, the spec and the seed),
so :func:`toolkit.sweep.run_tasks` can run the tasks anywhere; results come back in task order and every
table below is built from them in a fixed order, so the same data, config and seed give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.evaluation.config import Candidate, EvaluationConfig, Subgroup
from toolkit.evaluation.families import fit_candidate
from toolkit.evaluation.folds import assign_folds
from toolkit.evaluation.metrics import (
    METRICS,
    decile_calibration,
    fold_metrics,
    oe_interval,
    paired_interval,
)
from toolkit.expected.formula import parse_formula
from toolkit.expected.irls import SeparationError
from toolkit.expected.spec import ModelSpec
from toolkit.records.aggregate import entity_measure_table
from toolkit.records.frame import ModelFrame, build_frame
from toolkit.scoring import score_entities
from toolkit.scoring.config import MethodConfig

Say = Callable[[str], None]
#: The fold column of a task's records (never a participant id).
FOLD = "_fold"


@dataclass(frozen=True, eq=False)
class FoldTask:
    """One fit: ``candidate`` on the records of ``spec`` (``data``: model columns, outcome and fold) with fold
    ``fold`` held out, or on all of them (``fold = -1``: the full fit of the rating impact)."""

    candidate: Candidate
    spec: ModelSpec
    fold: int
    data: pd.DataFrame
    seed: int

    @property
    def label(self) -> str:
        return f"{self.candidate.name} {self.spec.key} " + (f"fold {self.fold}" if self.fold >= 0 else "all records")


@dataclass
class FoldResult:
    candidate: str
    key: str
    fold: int
    p: np.ndarray  # the held-out rows' probabilities, in the task's row order (all rows when fold = -1)
    info: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def run_fold_task(task: FoldTask) -> FoldResult:
    """Fit on the training folds, predict the held-out one (no MLflow, no files: a worker may run it)."""
    d = task.data
    fold = d[FOLD].to_numpy()
    test = fold == task.fold if task.fold >= 0 else np.ones(len(d), dtype=bool)
    train = d.loc[~test] if task.fold >= 0 else d
    try:
        fitted = fit_candidate(task.candidate, task.spec, train, task.seed)
    except SeparationError as exc:  # a fold whose training records separate: no predictions for it
        return FoldResult(task.candidate.name, task.spec.key, task.fold, np.full(int(test.sum()), np.nan), {}, str(exc))
    return FoldResult(task.candidate.name, task.spec.key, task.fold, fitted.model.predict(d.loc[test]), fitted.info)


def model_columns(specs: list[ModelSpec]) -> list[str]:
    """The data columns any of ``specs`` needs (full and compact formulas, outcome), in first-seen order."""
    cols: list[str] = []
    for s in specs:
        for f in (s.formula, s.compact_formula):
            if f:
                cols += [c for c in parse_formula(f, s.outcome).columns if c not in cols]
        if s.outcome not in cols:
            cols.append(s.outcome)
    return cols


@dataclass
class Prepared:
    """The frame, its folds and the tasks of an evaluation."""

    model_frame: ModelFrame
    frame: pd.DataFrame  # records with a model of the baseline set
    folds: np.ndarray  # fold per frame row
    site_folds: pd.DataFrame  # site -> fold (aggregate: no participant ids)
    rows: dict[str, np.ndarray]  # model key -> frame row positions
    keys: list[str]  # the evaluated model keys
    tasks: list[FoldTask]


def prepare(
    tables: dict[str, pd.DataFrame],
    config: EvaluationConfig,
    method: MethodConfig,
    specs: Mapping[str, dict[str, ModelSpec]],
) -> Prepared:
    """Frame, folds and every task: per evaluated measure, each candidate x fold, then the full fits of the
    rated candidates (the baseline's for every measure, which the other candidates keep for measures the
    config does not evaluate)."""
    mf = build_frame(tables, config.window.start, config.window.end, method.ended_contracts.open_sites)
    base = specs[config.baseline.name]
    prog, meas = mf.frame["program"].to_numpy(), mf.frame["measure"].to_numpy()
    rows = {
        k: np.flatnonzero((prog == s.records.program) & (meas == s.records.measure)) for k, s in sorted(base.items())
    }
    rows = {k: r for k, r in rows.items() if len(r)}
    keep = np.sort(np.concatenate(list(rows.values()))) if rows else np.array([], dtype=np.int64)
    frame = mf.frame.iloc[keep].reset_index(drop=True)
    prog, meas = frame["program"].to_numpy(), frame["measure"].to_numpy()
    rows = {k: np.flatnonzero((prog == base[k].records.program) & (meas == base[k].records.measure)) for k in rows}
    folds, site_folds = assign_folds(frame, config.folds.k, config.folds.seed)
    keys = [k for k in (config.measures or tuple(sorted(rows))) if k in rows]
    tasks: list[FoldTask] = []
    rated = [c for c in config.candidates if c.role != "yardstick"]
    for key in sorted(rows):
        cands = [c for c in config.candidates if key in keys or c.role == "baseline"]
        cols = model_columns([specs[c.name][key] for c in cands])
        data = frame.iloc[rows[key]][cols].assign(**{FOLD: folds[rows[key]]}).reset_index(drop=True)
        if key in keys:
            tasks += [
                FoldTask(c, specs[c.name][key], f, data, config.folds.seed)
                for c in config.candidates
                for f in range(config.folds.k)
            ]
        tasks += [
            FoldTask(c, specs[c.name][key], -1, data, config.folds.seed)
            for c in rated
            if key in keys or c.role == "baseline"
        ]
    return Prepared(mf, frame, folds, site_folds, rows, keys, tasks)


# ------------------------------------------------------------------------------------------ cross-validation
@dataclass
class OutOfFold:
    """Out-of-fold probabilities per candidate and model key (aligned with ``Prepared.rows[key]``)."""

    p: dict[tuple[str, str], np.ndarray]
    errors: list[str]
    full: dict[tuple[str, str], np.ndarray]  # full-data fits' probabilities (rated candidates)
    info: dict[tuple[str, str], dict[str, Any]]


def collect(prep: Prepared, results: list[FoldResult]) -> OutOfFold:
    p: dict[tuple[str, str], np.ndarray] = {}
    full: dict[tuple[str, str], np.ndarray] = {}
    info: dict[tuple[str, str], dict[str, Any]] = {}
    errors = []
    for task, res in zip(prep.tasks, results, strict=True):
        k = (res.candidate, res.key)
        if res.error:
            errors.append(f"{task.label}: {res.error}")
        if res.fold < 0:
            full[k] = res.p
            info[k] = res.info
            continue
        arr = p.setdefault(k, np.full(len(prep.rows[res.key]), np.nan))
        arr[task.data[FOLD].to_numpy() == res.fold] = res.p
    return OutOfFold(p, errors, full, info)


def _outcome(prep: Prepared, specs: Mapping[str, ModelSpec], key: str) -> np.ndarray:
    return prep.frame[specs[key].outcome].to_numpy(dtype=float)[prep.rows[key]]


def cv_metrics(prep: Prepared, oof: OutOfFold, config: EvaluationConfig, base: Mapping[str, ModelSpec]) -> pd.DataFrame:
    """Per candidate x model x fold (and ``pooled``: all out-of-fold predictions together) the metrics."""
    rows = []
    for c in config.candidates:
        for key in prep.keys:
            y = _outcome(prep, base, key)
            p = oof.p[(c.name, key)]
            f = prep.folds[prep.rows[key]]
            spec = base[key]
            head = {"candidate": c.name, "role": c.role, "family": c.family, "model": key}
            head |= {"program": spec.program, "measure": spec.measure}
            for fold in [*range(config.folds.k), -1]:
                sel = (f == fold if fold >= 0 else np.ones(len(y), dtype=bool)) & np.isfinite(p)
                m = fold_metrics(y[sel], p[sel]) if sel.any() else {"n": 0.0}
                rows.append({**head, "fold": str(fold) if fold >= 0 else "pooled", **m})
    cols = ["candidate", "role", "family", "model", "program", "measure", "fold", "n", "events", *METRICS]
    return pd.DataFrame(rows).reindex(columns=cols)


#: The metrics compared with the baseline; calibration as the distance from ideal (|slope - 1|, |intercept|).
DIFF_METRICS = {
    "log_loss": ("log_loss", True),
    "brier": ("brier", True),
    "auc": ("auc", False),
    "calibration_slope_error": ("calibration_slope", True),
    "calibration_intercept_error": ("calibration_intercept", True),
}


def _metric_values(t: pd.DataFrame, name: str) -> np.ndarray:
    col, _ = DIFF_METRICS[name]
    v = t[col].to_numpy(dtype=float)
    if name == "calibration_slope_error":
        return np.abs(v - 1)
    if name == "calibration_intercept_error":
        return np.abs(v)
    return v


def cv_differences(metrics: pd.DataFrame, config: EvaluationConfig) -> pd.DataFrame:
    """Each candidate minus the baseline, per model and metric: mean of the K per-fold differences with a
    t interval; ``verdict`` says better or worse only when the interval excludes 0. Model ``all``: the
    record-weighted mean log loss and Brier over the evaluated models, fold by fold."""
    base = config.baseline.name
    folds = metrics[metrics["fold"] != "pooled"].copy()
    totals = (
        folds.assign(ll=folds["log_loss"] * folds["n"], br=folds["brier"] * folds["n"])
        .groupby(["candidate", "fold"], sort=False)[["ll", "br", "n"]]
        .sum()
    )
    allrows = (totals["ll"] / totals["n"]).rename("log_loss").to_frame()
    allrows["brier"] = totals["br"] / totals["n"]
    allrows = allrows.reset_index().assign(model="all", program="all", measure="all")
    rows = []
    for c in config.candidates:
        if c.name == base:
            continue
        for key in [*sorted(metrics["model"].unique()), "all"]:
            src = allrows if key == "all" else folds
            mine = src[(src["candidate"] == c.name) & (src["model"] == key)].sort_values("fold", kind="stable")
            theirs = src[(src["candidate"] == base) & (src["model"] == key)].sort_values("fold", kind="stable")
            for name, (col, lower_better) in DIFF_METRICS.items():
                if col not in src.columns:
                    continue
                a, b = _metric_values(mine, name), _metric_values(theirs, name)
                mean, se, lo, hi = paired_interval(a - b, config.level)
                better = (hi < 0) if lower_better else (lo > 0)
                worse = (lo > 0) if lower_better else (hi < 0)
                rows.append(
                    {
                        "candidate": c.name,
                        "role": c.role,
                        "model": key,
                        "program": mine["program"].iloc[0] if len(mine) else "",
                        "measure": mine["measure"].iloc[0] if len(mine) else "",
                        "metric": name,
                        "lower_is_better": lower_better,
                        "baseline_mean": float(np.nanmean(b)) if np.isfinite(b).any() else math.nan,
                        "candidate_mean": float(np.nanmean(a)) if np.isfinite(a).any() else math.nan,
                        "difference": mean,
                        "se": se,
                        "lower": lo,
                        "upper": hi,
                        "folds": int(np.isfinite(a - b).sum()),
                        "verdict": "better" if better else "worse" if worse else "no clear difference",
                    }
                )
    return pd.DataFrame(rows)


def calibration_curves(
    prep: Prepared, oof: OutOfFold, config: EvaluationConfig, base: Mapping[str, ModelSpec]
) -> pd.DataFrame:
    """Out-of-fold calibration by risk decile per candidate and model, with Wilson intervals."""
    out = []
    for c in config.candidates:
        for key in prep.keys:
            y, p = _outcome(prep, base, key), oof.p[(c.name, key)]
            ok = np.isfinite(p)
            if not ok.any():
                continue
            t = decile_calibration(y[ok], p[ok], config.level)
            out.append(t.assign(candidate=c.name, model=key))
    t = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    return t[["candidate", "model", *[c for c in t.columns if c not in ("candidate", "model")]]] if len(t) else t


# ------------------------------------------------------------------------------------------ subgroups
def subgroup_levels(frame: pd.DataFrame, sg: Subgroup) -> pd.Series:
    """The subgroup level of every row as text (``true``/``false``, a band ``[25, 35)``, ``missing``)."""
    s = frame[sg.column]
    if sg.bins:
        x = s.astype("float64")
        edges = list(sg.bins)
        labels = np.full(len(s), "missing", dtype=object)
        v = x.to_numpy(dtype=float, na_value=np.nan)
        labels[np.isfinite(v) & (v < edges[0])] = f"<{edges[0]:g}"
        for lo, hi in zip(edges, [*edges[1:], math.inf], strict=True):
            labels[(v >= lo) & (v < hi)] = f"[{lo:g}, {hi:g})" if math.isfinite(hi) else f"{lo:g}+"
        return pd.Series(labels, index=frame.index)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.map({True: "true", False: "false"}).astype(object).fillna("missing")
    return s.astype(object).map(lambda v: "missing" if pd.isna(v) else str(v))


def subgroup_calibration(
    prep: Prepared, oof: OutOfFold, config: EvaluationConfig, base: Mapping[str, ModelSpec]
) -> pd.DataFrame:
    """Out-of-fold O/E with its interval (:func:`toolkit.evaluation.metrics.oe_interval`) per candidate,
    subgroup level and model, and per program over its evaluated models (``model = <program>_all``);
    ``flagged`` when the interval excludes 1. Levels with fewer than ``min_subgroup_records`` records are left out."""
    levels = {sg.name: subgroup_levels(prep.frame, sg).to_numpy() for sg in config.subgroups}
    rows = []
    for c in config.candidates:
        pooled: dict[str, list[str]] = {}
        for key in prep.keys:
            pooled.setdefault(base[key].program, []).append(key)
        groups = [(k, [k], base[k].program) for k in prep.keys]
        groups += [(f"{prog.lower()}_all", ks, prog) for prog, ks in sorted(pooled.items())]
        for label, ks, prog in groups:
            idx = np.concatenate([prep.rows[k] for k in ks])
            y = np.concatenate([_outcome(prep, base, k) for k in ks])
            p = np.concatenate([oof.p[(c.name, k)] for k in ks])
            ok = np.isfinite(p)
            for sg in config.subgroups:
                lv = levels[sg.name][idx]
                for level in sorted(set(lv[ok])):
                    sel = ok & (lv == level)
                    n = int(sel.sum())
                    if n < config.min_subgroup_records:
                        continue
                    stats = oe_interval(float(y[sel].sum()), p[sel], config.level)
                    rows.append(
                        {
                            "candidate": c.name,
                            "role": c.role,
                            "model": label,
                            "program": prog,
                            "subgroup": sg.name,
                            "column": sg.column,
                            "level": level,
                            "n": n,
                            **stats,
                        }
                    )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ rating impact
def candidate_ratings(
    prep: Prepared, oof: OutOfFold, config: EvaluationConfig, method: MethodConfig, candidate: str
) -> pd.DataFrame:
    """The ratings a rated candidate gives when fitted on all records (the baseline's fits for the models
    the config does not evaluate), scored through the method like a release."""
    p_all = np.full(len(prep.frame), np.nan)
    base = config.baseline.name
    for key, r in prep.rows.items():
        src = (candidate, key) if (candidate, key) in oof.full else (base, key)
        p_all[r] = oof.full[src]
    frame = prep.frame.assign(expected_p=p_all)
    frame = frame.loc[np.isfinite(p_all)]
    em = entity_measure_table(frame, prep.model_frame.entities, config.window.end)
    return score_entities(em, method)


KEY = ["program", "level", "entity_id"]


def _stars(r: pd.DataFrame) -> pd.Series:
    return r["stars"].astype("Float64").astype(object).map(lambda v: "none" if pd.isna(v) else str(int(v)))


def rating_impact(
    ratings: Mapping[str, pd.DataFrame], config: EvaluationConfig, oracle: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per rated candidate, program and level: entities whose stars change against the baseline's, the
    Spearman correlation of performance scores, and (a synthetic world) accuracy against the oracle; and
    the star transition matrix (baseline stars x candidate stars, ``none`` for not rated) as counts."""
    from toolkit.synth.accuracy import accuracy_table

    base = ratings[config.baseline.name]
    impact, transitions = [], []
    for name, r in ratings.items():
        both = base[[*KEY, "stars", "calculated", "performance_score"]].merge(
            r[[*KEY, "stars", "calculated", "performance_score"]], on=KEY, suffixes=("_b", "_c"), validate="one_to_one"
        )
        both["from"] = _stars(both.rename(columns={"stars_b": "stars"}))
        both["to"] = _stars(both.rename(columns={"stars_c": "stars"}))
        for (prog, level), g in both.groupby(["program", "level"], sort=True):
            rated = g[g["calculated_b"].astype(bool) & g["calculated_c"].astype(bool)]
            sp = (
                float(rated["performance_score_b"].corr(rated["performance_score_c"], method="spearman"))
                if len(rated) > 2
                else math.nan
            )
            row = {
                "candidate": name,
                "program": prog,
                "level": level,
                "entities": len(g),
                "rated_both": len(rated),
                "stars_changed": int((g["from"] != g["to"]).sum()),
                "share_changed": float((g["from"] != g["to"]).mean()),
                "spearman_vs_baseline": sp,
            }
            if oracle is not None:
                pa = accuracy_table(r[r["program"] == prog], oracle[oracle["program"] == prog], by_band=False)
                pa = pa.set_index("level")
                for col in ("spearman", "same_stars", "mean_abs_star_error"):
                    row[f"oracle_{col}"] = float(pa.loc[level, col]) if level in pa.index else math.nan
            impact.append(row)
            counts = g.groupby(["from", "to"], sort=True).size().rename("count").reset_index()
            transitions.append(counts.assign(candidate=name, program=prog, level=level))
    tr = pd.concat(transitions, ignore_index=True)
    tr = tr.rename(columns={"from": "baseline_stars", "to": "candidate_stars"})
    return pd.DataFrame(impact), tr[["candidate", "program", "level", "baseline_stars", "candidate_stars", "count"]]
