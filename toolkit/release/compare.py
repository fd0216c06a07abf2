"""``toolkit compare RUN_A RUN_B``: what moved between two tracked releases, and why.

Works for two releases of different data, or the same data under two model specs or
variants. Everything is read from the tracking store (parameters and ``release/``
artifacts of the parent runs, ``coefficients.csv`` of their child runs), so the
release folders need not exist.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.tracking.reproduce import RunReader

KEY = ["program", "level", "entity_id"]


@dataclass
class Comparison:
    run_a: str
    run_b: str
    transitions: pd.DataFrame  # program, level, stars_a, stars_b, entities
    changed: pd.DataFrame  # entities whose published stars changed, with driving groups
    standardisation: pd.DataFrame  # program, group, mu/sd/national average in A and B
    coefficients: pd.DataFrame  # per model: columns compared, largest change and where
    inputs: pd.DataFrame  # parameter keys whose values differ
    coefficient_diffs: pd.DataFrame | None = None  # per model and term: coef in A and B, difference


def _stars(s: pd.Series) -> pd.Series:
    return pd.Series(["-" if pd.isna(v) else str(int(v)) for v in s], index=s.index, dtype=object)


def transition_table(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    m = a[KEY + ["stars"]].merge(b[KEY + ["stars"]], on=KEY, how="outer", suffixes=("_a", "_b"))
    m["stars_a"], m["stars_b"] = _stars(m["stars_a"]), _stars(m["stars_b"])
    return m.groupby(["program", "level", "stars_a", "stars_b"]).size().rename("entities").reset_index()


def transition_matrix(transitions: pd.DataFrame, program: str, level: str) -> pd.DataFrame:
    t = transitions[(transitions["program"] == program) & (transitions["level"] == level)]
    mat = t.pivot_table(index="stars_a", columns="stars_b", values="entities", aggfunc="sum", fill_value=0)
    order = [s for s in ["1", "2", "3", "4", "5", "-"] if s in set(mat.index) | set(mat.columns)]
    return mat.reindex(index=order, columns=order, fill_value=0)


def changed_entities(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Entities whose published stars differ, with each group's change in weighted score (W'_g x score_g)."""
    groups = sorted(c[len("score_") :] for c in a.columns if c.startswith("score_") and c in b.columns)
    cols = (
        KEY
        + ["status", "stars", "star_percentage", "performance_score"]
        + [f"score_{g}" for g in groups]
        + [f"group_weight_{g}" for g in groups]
    )
    m = a[cols].merge(b[cols], on=KEY, how="inner", suffixes=("_a", "_b"))
    sa, sb = m["stars_a"].astype("Int64"), m["stars_b"].astype("Int64")
    moved = (sa.fillna(0) != sb.fillna(0)).to_numpy()
    m = m[moved].copy()
    contrib = {}
    for g in groups:
        ca = (m[f"score_{g}_a"].astype(float) * m[f"group_weight_{g}_a"].astype(float)).fillna(0)
        cb = (m[f"score_{g}_b"].astype(float) * m[f"group_weight_{g}_b"].astype(float)).fillna(0)
        contrib[g] = cb - ca
        m[f"delta_{g}"] = contrib[g]
    if groups and len(m):
        d = pd.DataFrame(contrib)
        order = np.argsort(-d.abs().to_numpy(), axis=1)
        names = np.array(groups)
        m["drivers"] = [", ".join(f"{names[j]} {d.iat[i, j]:+.2f}" for j in order[i][:2]) for i in range(len(d))]
    else:
        m["drivers"] = ""
    m["stars_a"], m["stars_b"] = _stars(m["stars_a"]), _stars(m["stars_b"])
    keep = (
        KEY
        + [
            "status_a",
            "status_b",
            "stars_a",
            "stars_b",
            "star_percentage_a",
            "star_percentage_b",
            "performance_score_a",
            "performance_score_b",
            "drivers",
        ]
        + [f"delta_{g}" for g in groups]
    )
    return m[keep].sort_values(KEY).reset_index(drop=True)


def standardisation_changes(sa: pd.DataFrame, sb: pd.DataFrame) -> pd.DataFrame:
    m = sa.merge(sb, on=["program", "group"], how="outer", suffixes=("_a", "_b"))
    for c in ("mu", "sd", "national_average"):
        m[f"{c}_change"] = m[f"{c}_b"] - m[f"{c}_a"]
    return m


def coefficient_changes(ca: dict[str, pd.Series], cb: dict[str, pd.Series]) -> pd.DataFrame:
    rows = []
    for name in sorted(set(ca) | set(cb)):
        a, b = ca.get(name), cb.get(name)
        if a is None or b is None:
            rows.append(
                {
                    "model": name,
                    "columns_a": 0 if a is None else len(a),
                    "columns_b": 0 if b is None else len(b),
                    "largest_change": np.nan,
                    "at": "model only in " + ("B" if a is None else "A"),
                    "added": "",
                    "removed": "",
                }
            )
            continue
        common = a.index.intersection(b.index)
        d = (b[common] - a[common]).abs()
        rows.append(
            {
                "model": name,
                "columns_a": len(a),
                "columns_b": len(b),
                "largest_change": float(d.max()) if len(d) else np.nan,
                "at": str(d.idxmax()) if len(d) and float(d.max()) > 0 else "",
                "added": "; ".join(b.index.difference(a.index)),
                "removed": "; ".join(a.index.difference(b.index)),
            }
        )
    return pd.DataFrame(rows)


def coefficient_differences(ca: dict[str, pd.Series], cb: dict[str, pd.Series]) -> pd.DataFrame:
    """Every coefficient of every model in A or B: ``coef_a``, ``coef_b`` (empty where the term is absent)
    and ``difference`` (B - A), sorted by model then by the size of the difference."""
    parts = []
    for name in sorted(set(ca) | set(cb)):
        a = ca.get(name, pd.Series(dtype=float)).rename("coef_a")
        b = cb.get(name, pd.Series(dtype=float)).rename("coef_b")
        t = pd.concat([a, b], axis=1)
        t.index.name = "term"
        t = t.reset_index()
        t.insert(0, "model", name)
        t["difference"] = t["coef_b"] - t["coef_a"]
        t["_size"] = t["difference"].abs().fillna(np.inf)
        parts.append(t.sort_values(["_size", "term"], ascending=[False, True], kind="mergesort").drop(columns="_size"))
    cols = ["model", "term", "coef_a", "coef_b", "difference"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def input_differences(pa: dict[str, str], pb: dict[str, str]) -> pd.DataFrame:
    skip = ("release",)  # names may differ on purpose
    keys = sorted(k for k in set(pa) | set(pb) if pa.get(k) != pb.get(k) and k not in skip)
    return pd.DataFrame({"parameter": keys, "a": [pa.get(k, "") for k in keys], "b": [pb.get(k, "") for k in keys]})


def _load_run(
    run_id: str, tracking_uri: str | None, tmp: Path
) -> tuple[dict[str, str], pd.DataFrame, pd.DataFrame, dict[str, pd.Series]]:
    """A release run's params, ratings, standardisation table and each model's coefficients."""
    run = RunReader(run_id, tracking_uri)
    if run.tags.get("toolkit.kind") != "release":
        raise ToolkitError(f"run {run_id} is not a release parent run")
    d = tmp / run_id
    path = run.download("release/ratings.csv", d)
    if path is None:
        raise ToolkitError(f"run {run_id} has no release/ratings.csv artifact")
    ratings = pd.read_csv(path, keep_default_na=False, na_values=[""])
    path = run.download("release/standardisation.csv", d)
    std = (
        pd.read_csv(path)
        if path is not None
        else pd.DataFrame(columns=["program", "group", "mu", "sd", "population", "national_average"])
    )
    coefs = {}
    for name, child in run.children().items():
        path = run.download("coefficients.csv", d / child, run_id=child)
        if path is not None:
            coefs[name] = pd.read_csv(path).set_index("term")["coef"]
    return run.params, ratings, std, coefs


def compare_runs(run_a: str, run_b: str, tracking_uri: str | None = None) -> Comparison:
    """What moved between the releases ``run_a`` and ``run_b``, read from the tracking store alone."""
    with tempfile.TemporaryDirectory() as tmp:
        pa, ra, sa, ca = _load_run(run_a, tracking_uri, Path(tmp))
        pb, rb, sb, cb = _load_run(run_b, tracking_uri, Path(tmp))
    return Comparison(
        run_a=run_a,
        run_b=run_b,
        transitions=transition_table(ra, rb),
        changed=changed_entities(ra, rb),
        standardisation=standardisation_changes(sa, sb),
        coefficients=coefficient_changes(ca, cb),
        inputs=input_differences(pa, pb),
        coefficient_diffs=coefficient_differences(ca, cb),
    )


def render(c: Comparison, max_changed: int = 15) -> str:
    lines = [f"Comparison of release runs A={c.run_a} and B={c.run_b}", ""]
    for (prog, level), _ in c.transitions.groupby(["program", "level"]):
        mat = transition_matrix(c.transitions, prog, level)
        total = int(mat.to_numpy().sum())
        same = int(sum(mat.at[s, s] for s in mat.index if s in mat.columns))
        lines += [
            f"{prog} {level}: {same}/{total} entities keep their stars (rows A, columns B; '-' no stars)",
            mat.to_string(),
            "",
        ]
    lines.append(f"{len(c.changed)} entities changed stars; the groups whose weighted scores moved most:")
    if len(c.changed):
        show = c.changed[KEY + ["stars_a", "stars_b", "drivers"]].head(max_changed)
        lines.append(show.to_string(index=False))
        if len(c.changed) > max_changed:
            lines.append(f"... {len(c.changed) - max_changed} more in changed_entities.csv")
    lines += ["", "National averages and standardisation parameters:"]
    cols = ["program", "group", "mu_a", "mu_b", "sd_a", "sd_b", "national_average_a", "national_average_b"]
    lines.append(
        c.standardisation[[x for x in cols if x in c.standardisation.columns]].to_string(
            index=False, float_format=lambda v: f"{v:.4f}"
        )
    )
    lines += ["", "Coefficients per model (largest absolute change):"]
    lines.append(
        c.coefficients.to_string(index=False, float_format=lambda v: f"{v:.3g}")
        if len(c.coefficients)
        else "(no coefficient tables)"
    )
    lines += ["", f"Inputs and settings that differ ({len(c.inputs)}):"]
    if len(c.inputs):
        shown = c.inputs.assign(a=c.inputs["a"].str.slice(0, 40), b=c.inputs["b"].str.slice(0, 40))
        lines.append(shown.to_string(index=False))
    else:
        lines.append("(none: same data, config, code and environment)")
    return "\n".join(lines)


def write_comparison(c: Comparison, out: Path) -> Path:
    """Write the comparison's tables, its full text and ``comparison.html`` to the folder ``out``."""
    from toolkit.release.compare_page import comparison_page

    out.mkdir(parents=True, exist_ok=True)
    c.transitions.to_csv(out / "transitions.csv", index=False)
    c.changed.to_csv(out / "changed_entities.csv", index=False)
    c.standardisation.to_csv(out / "standardisation_changes.csv", index=False)
    c.coefficients.to_csv(out / "coefficient_changes.csv", index=False)
    if c.coefficient_diffs is not None:
        c.coefficient_diffs.to_csv(out / "coefficient_diffs.csv", index=False)
    c.inputs.to_csv(out / "input_differences.csv", index=False)
    (out / "comparison.txt").write_text(render(c, max_changed=10_000) + "\n")
    (out / "comparison.html").write_text(comparison_page(c), encoding="utf-8")
    return out


def run_comparison(
    run_a: str,
    run_b: str,
    *,
    tracking_uri: str | None = None,
    out_root: str | Path | None = None,
    show: Callable[[str], None] = lambda text: None,
) -> Path:
    """Compare two tracked releases, show the text, and track the comparison as a run of the experiment
    ``release-comparisons`` whose folder ``<out_root>/compare-<A>-<B>-<time>-<run id>`` holds its tables."""
    from toolkit.tracking.lifecycle import RunSpec, tracked_run
    from toolkit.tracking.provenance import run_params

    c = compare_runs(run_a, run_b, tracking_uri)
    show(render(c))
    spec = RunSpec(
        experiment="release-comparisons",
        name=f"{run_a[:8]} vs {run_b[:8]}",
        kind="comparison",
        params=run_params({"run_a": run_a, "run_b": run_b}, {}, "none (deterministic)"),
        output_root=out_root or "comparisons",
        artifact_path="comparison",
        folder_name=f"compare-{run_a[:8]}-{run_b[:8]}",
        tags={"compare.run_a": run_a, "compare.run_b": run_b},
    )
    with tracked_run(spec, tracking_uri) as tr:
        write_comparison(c, tr.folder)
        tr.log_files([p.name for p in sorted(tr.folder.iterdir())])
        tr.log_metrics({"entities_changed_stars": len(c.changed), "inputs_differing": len(c.inputs)})
    return tr.folder
