"""The files of an evaluation: aggregate tables (CSV), plots and ``report.md``. No participant rows or ids."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.evaluation.config import EvaluationConfig

#: The tables an evaluation writes and reproduction compares byte for byte, with their key columns.
TABLES: dict[str, tuple[str, ...]] = {
    "cv_metrics.csv": ("candidate", "model", "fold"),
    "cv_differences.csv": ("candidate", "model", "metric"),
    "oof_calibration.csv": ("candidate", "model", "group"),
    "subgroup_calibration.csv": ("candidate", "model", "subgroup", "level"),
    "rating_impact.csv": ("candidate", "program", "level"),
    "star_transitions.csv": ("candidate", "program", "level", "baseline_stars", "candidate_stars"),
    "folds.csv": ("site_id",),
    "fold_errors.csv": ("task",),
}
PLOTS = ["plots/cv_differences.png", "plots/subgroup_oe.png", "plots/calibration.png"]


@dataclass
class EvaluationTables:
    cv_metrics: pd.DataFrame
    cv_differences: pd.DataFrame
    oof_calibration: pd.DataFrame
    subgroup_calibration: pd.DataFrame
    rating_impact: pd.DataFrame
    star_transitions: pd.DataFrame
    folds: pd.DataFrame
    fold_errors: pd.DataFrame

    def by_file(self) -> dict[str, pd.DataFrame]:
        return {f"{name}.csv": getattr(self, name) for name in (n.removesuffix(".csv") for n in TABLES)}


def write_tables(folder: Path, t: EvaluationTables) -> list[str]:
    """Every table as CSV (no index; the same tables give the same bytes); returns the file names."""
    for name, df in t.by_file().items():
        df.to_csv(folder / name, index=False)
    return list(TABLES)


def write_plots(folder: Path, t: EvaluationTables, config: EvaluationConfig) -> list[str]:
    """Metric differences with intervals, the subgroup O/E forest plot and out-of-fold calibration curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (folder / "plots").mkdir(exist_ok=True)
    d = t.cv_differences
    alts = [c.name for c in config.candidates if c.role != "baseline"]
    metrics = ["log_loss", "auc"]
    fig, axes = plt.subplots(
        len(metrics), 1, figsize=(9, 2 + 0.22 * max(1, len(d)) // max(1, len(metrics))), squeeze=False
    )
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        m = d[d["metric"] == metric] if len(d) else d
        labels = []
        for i, (_, r) in enumerate(m.iterrows()):
            ax.errorbar(
                r["difference"],
                i,
                xerr=[[r["difference"] - r["lower"]], [r["upper"] - r["difference"]]],
                fmt="o",
                color=f"C{alts.index(r['candidate']) % 10}",
                ms=3,
            )
            labels.append(f"{r['candidate']} {r['model']}")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(range(len(labels)), labels, fontsize=5)
        ax.set_title(
            f"{metric}: candidate - baseline ({config.level:.0%} t interval over {config.folds.k} folds)", fontsize=8
        )
    fig.tight_layout()
    fig.savefig(folder / PLOTS[0], dpi=110)
    plt.close(fig)

    s = t.subgroup_calibration
    s = s[s["model"].str.endswith("_all")] if len(s) else s
    progs = sorted(s["program"].unique()) if len(s) else []
    rows = s[["subgroup", "level"]].drop_duplicates() if len(s) else pd.DataFrame(columns=["subgroup", "level"])
    fig, axes = plt.subplots(
        1, max(1, len(progs)), figsize=(6 * max(1, len(progs)), 1 + 0.16 * max(1, len(rows))), squeeze=False
    )
    cands = [c.name for c in config.candidates]
    for ax, prog in zip(axes[0], progs, strict=False):
        mine = s[s["program"] == prog]
        labels = [f"{a}={b}" for a, b in mine[["subgroup", "level"]].drop_duplicates().itertuples(index=False)]
        pos = {lab: i for i, lab in enumerate(labels)}
        for j, c in enumerate(cands):
            g = mine[mine["candidate"] == c]
            y = np.array([pos[f"{a}={b}"] for a, b in zip(g["subgroup"], g["level"], strict=True)]) + 0.12 * (
                j - len(cands) / 2
            )
            ax.errorbar(
                g["oe"],
                y,
                xerr=[g["oe"] - g["oe_lower"], g["oe_upper"] - g["oe"]],
                fmt="o",
                ms=2,
                lw=0.6,
                color=f"C{j % 10}",
                label=c,
            )
        ax.axvline(1, color="grey", lw=0.8)
        ax.set_yticks(range(len(labels)), labels, fontsize=5)
        ax.invert_yaxis()
        ax.set_title(f"{prog}: out-of-fold O/E by subgroup ({config.level:.0%} interval)", fontsize=8)
        ax.legend(fontsize=5)
    fig.tight_layout()
    fig.savefig(folder / PLOTS[1], dpi=110)
    plt.close(fig)

    c = t.oof_calibration
    models = sorted(c["model"].unique()) if len(c) else []
    ncol = 4
    nrow = max(1, math.ceil(len(models) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3 * ncol, 3 * nrow), squeeze=False)
    for ax, model in zip(axes.ravel(), models, strict=False):
        for j, cand in enumerate(cands):
            g = c[(c["model"] == model) & (c["candidate"] == cand)]
            ax.plot(g["expected_rate"], g["observed_rate"], "o-", ms=2, lw=0.8, color=f"C{j % 10}", label=cand)
        hi = float(c[c["model"] == model][["expected_rate", "observed_rate"]].to_numpy().max())
        ax.plot([0, hi], [0, hi], color="grey", lw=0.6)
        ax.set_title(model, fontsize=8)
    if models:
        axes.ravel()[0].legend(fontsize=5)
    for ax in axes.ravel()[len(models) :]:
        ax.axis("off")
    fig.supxlabel("expected rate (risk decile)", fontsize=8)
    fig.supylabel("observed rate", fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / PLOTS[2], dpi=110)
    plt.close(fig)
    return PLOTS


def _fmt(x: float, digits: int = 4) -> str:
    return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}f}"


def report_text(t: EvaluationTables, config: EvaluationConfig, note: str) -> str:
    """One page: the verdict per candidate, differences per model, flagged subgroups, rating impact."""
    d, s, r = t.cv_differences, t.subgroup_calibration, t.rating_impact
    lines = [
        f"# Model evaluation {config.name}",
        "",
        note,
        "",
        f"Grouped {config.folds.k}-fold cross-validation (seed {config.folds.seed}): whole sites in a fold, each "
        "participant in the fold of their primary site. Differences are candidate minus baseline "
        f"(`{config.baseline.name}`), the mean over folds with a {config.level:.0%} t interval; a candidate is "
        "better or worse only when the interval excludes 0.",
        "",
        "## Out-of-fold log loss over all evaluated models (record-weighted)",
        "",
        "| candidate | role | baseline | candidate | difference | interval | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    allr = d[(d["model"] == "all") & (d["metric"] == "log_loss")] if len(d) else d
    for _, x in allr.iterrows():
        lines.append(
            f"| {x['candidate']} | {x['role']} | {_fmt(x['baseline_mean'])} | {_fmt(x['candidate_mean'])} | "
            f"{_fmt(x['difference'], 5)} | [{_fmt(x['lower'], 5)}, {_fmt(x['upper'], 5)}] | {x['verdict']} |"
        )
    lines += [
        "",
        "## Per model: log loss and AUC differences",
        "",
        "| candidate | model | metric | difference | interval | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    per = d[(d["model"] != "all") & d["metric"].isin(["log_loss", "auc"])] if len(d) else d
    for _, x in per.iterrows():
        lines.append(
            f"| {x['candidate']} | {x['model']} | {x['metric']} | {_fmt(x['difference'], 5)} | "
            f"[{_fmt(x['lower'], 5)}, {_fmt(x['upper'], 5)}] | {x['verdict']} |"
        )
    lines += [
        "",
        "## Subgroup calibration (fairness of the adjustment)",
        "",
        f"Out-of-fold O/E per subgroup level; the {config.level:.0%} interval is O/E ± z·sqrt(Σp(1−p))/E, "
        "the spread of "
        "O/E if the model were calibrated for the subgroup (O a sum of Bernoulli outcomes). Flagged: the interval "
        "excludes 1. With many levels and models some flags are expected by chance (about 5% at 95%); compare "
        "candidates with the baseline, and read the program-pooled rows (`<program>_all`) first.",
        "",
        "| candidate | levels | flagged | flagged (program-pooled) |",
        "| --- | --- | --- | --- |",
    ]
    for c in config.candidates:
        g = s[s["candidate"] == c.name] if len(s) else s
        pooled = g[g["model"].str.endswith("_all")] if len(g) else g
        lines.append(
            f"| {c.name} | {len(g)} | {int(g['flagged'].sum()) if len(g) else 0} | "
            f"{int(pooled['flagged'].sum()) if len(pooled) else 0} |"
        )
    flagged = s[s["model"].str.endswith("_all") & s["flagged"]] if len(s) else s
    if len(flagged):
        lines += [
            "",
            "Flagged program-pooled levels:",
            "",
            "| candidate | program | subgroup | level | n | O/E | interval |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for _, x in flagged.iterrows():
            lines.append(
                f"| {x['candidate']} | {x['program']} | {x['subgroup']} | {x['level']} | {x['n']} | "
                f"{_fmt(x['oe'], 3)} | [{_fmt(x['oe_lower'], 3)}, {_fmt(x['oe_upper'], 3)}] |"
            )
    lines += ["", "## Rating impact (each rated candidate fitted on all records, scored through the method)", ""]
    if len(r):
        cols = [c for c in r.columns if c not in ("entities",)]
        lines += ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
        for _, x in r.iterrows():
            lines.append(
                "| " + " | ".join(_fmt(x[c], 3) if isinstance(x[c], float) else str(x[c]) for c in cols) + " |"
            )
    if len(t.fold_errors):
        lines += ["", "## Fits that failed", ""] + [f"- {e}" for e in t.fold_errors["error"]]
    lines += [
        "",
        "Tables: " + ", ".join(f"`{n}`" for n in TABLES) + "; plots: " + ", ".join(f"`{p}`" for p in PLOTS),
        "",
    ]
    return "\n".join(lines)
