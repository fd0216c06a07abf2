"""The release report: a Markdown page a reviewer reads beside the ratings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from toolkit.bayes.config import Gates
from toolkit.tracking.record import status_line

if TYPE_CHECKING:
    from toolkit.release.config import ReleaseConfig


#: The model metrics a reader is shown (report.md, and report.html's models section), in this order.
MODEL_METRIC_COLUMNS = (
    "model",
    "terms",
    "n",
    "events",
    "auc",
    "brier",
    "calibration_slope",
    "deviance_explained",
    "n_params",
)


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def star_distribution(ratings: pd.DataFrame) -> pd.DataFrame:
    """Entities per program, level and published status/stars."""
    r = ratings.copy()
    r["stars"] = ["-" if pd.isna(v) else str(int(v)) for v in r["stars"]]
    tab = r.pivot_table(index=["program", "level"], columns="stars", values="entity_id", aggfunc="count", fill_value=0)
    tab.columns = [("no stars" if c == "-" else f"{c} star" + ("" if c == "1" else "s")) for c in tab.columns]
    status = r.pivot_table(
        index=["program", "level"], columns="status", values="entity_id", aggfunc="count", fill_value=0
    )
    return tab.join(status).reset_index()


def write_report(
    folder: Path,
    config: ReleaseConfig,
    ratings: pd.DataFrame,
    metrics: pd.DataFrame,
    exclusions: pd.DataFrame,
    failed: list[str],
    run_id: str,
    uri: str,
    gates: Gates | None = None,
    sparse_levels: pd.DataFrame | None = None,
    aliased: dict[str, list[str]] | None = None,
    standardisation: pd.DataFrame | None = None,
) -> Path:
    """``report.md``: status, star distribution, national averages, models, the levels the sparse-level rule
    pooled (``sparse_levels``: :func:`toolkit.release.compute.sparse_level_table`), the Bayesian variant's
    convergence against its ``gates`` (when it ran) and the exclusions."""
    lines = [
        f"# Release {config.name}",
        "",
        config.description,
        "",
        f"- MLflow run: `{run_id}` in `{uri}`",
        f"- assessment window: {config.window.start} to {config.window.end}",
        f"- method: `{config.method}`; models: `{config.models}`; variant: `{config.variant}`; seed {config.seed}",
        status_line("running"),  # rewritten with the run's status when it closes
        "",
    ]
    if failed:
        lines += ["## Failed checks", ""] + [f"- {f}" for f in failed] + [""]
    lines += ["## Ratings", "", _md_table(star_distribution(ratings)), ""]
    nat = ratings[(ratings["level"] == "contract")].groupby("program")["national_average"].first().reset_index()
    lines += ["National average performance score (contract level):", "", _md_table(nat), ""]
    if standardisation is not None:
        unscaled = sorted(set(standardisation.loc[standardisation["population"] == 0, "program"]))
        lines += [
            f"Program {p} has no contract that can set the national scale (every contract is new or below "
            "minimum data): none of its entities has a calculated rating in this release; the other programs "
            "are rated as usual."
            for p in unscaled
        ] + ([""] if unscaled else [])
        empty = standardisation[standardisation["mu"].isna() & ~standardisation["program"].isin(unscaled)]
        lines += [
            f"Group {r.group} of {r.program} has no data nationally: it is not standardised and its weight "
            "goes to the other groups, as for a small denominator (`standardisation.group_without_data`)."
            for r in empty.itertuples()
        ] + ([""] if len(empty) else [])
    cols = [*MODEL_METRIC_COLUMNS, "seconds"]
    shown = metrics[cols].astype({"n": int, "events": int, "n_params": int})
    lines += [
        "## Models",
        "",
        _md_table(shown),
        "",
        "Calibration and funnel plots: `plots/`. Coefficients, knots and levels: `models/<program>_<measure>/`.",
        "",
    ]
    if sparse_levels is not None:
        lines += sparse_level_section(sparse_levels)
    dropped = {m: cols for m, cols in (aliased or {}).items() if cols}
    if dropped:
        lines += [
            "## Aliased columns",
            "",
            "Design columns that were linear combinations of earlier ones (or all zero) in a model's training "
            "records were dropped from its fit, as R's `glm` drops aliased coefficients (`aliased: drop` in the "
            "model spec); they count 0 in prediction:",
            "",
        ]
        lines += [f"- {m}: {', '.join(cols)}" for m, cols in sorted(dropped.items())] + [""]
    bayes = folder / "bayes_diagnostics.csv"
    if bayes.is_file():  # variant bayes
        lines += bayes_section(pd.read_csv(bayes), ratings, gates or Gates())
    lines += ["## Exclusions", ""]
    if exclusions.empty:
        lines += ["No record was excluded.", ""]
    else:
        ex = exclusions.groupby("reason").size().rename("records").reset_index()
        lines += [_md_table(ex), "", "Every excluded record is listed in `exclusions.csv` (kept out of MLflow).", ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path


def sparse_level_section(table: pd.DataFrame) -> list[str]:
    """The sparse-level rule of each model and the levels it pooled (docs/method.md, section 6)."""
    lines = [
        "## Sparse levels",
        "",
        "Each model's spec (`sparse_levels`) pools, before the fit, a factor level or indicator with fewer events "
        "or non-events in its training records than its rule asks into the named neighbour or the reference "
        "level; a sparse interaction cell is scored as the term's reference cell. Rules: "
        + "; ".join(f"{r} ({n} models)" for r, n in table.groupby("rule", sort=True)["model"].nunique().items())
        + ".",
        "",
    ]
    pooled = table[table["level"].notna()]
    if pooled.empty:
        return lines + ["No level was pooled.", ""]
    shown = pooled[["model", "term", "level", "into", "events", "non_events", "reason"]].astype(
        {"events": int, "non_events": int}
    )
    return lines + [_md_table(shown), ""]


def bayes_section(diag: pd.DataFrame, ratings: pd.DataFrame, gates: Gates) -> list[str]:
    """The Bayesian variant's part of the report: convergence per model and how sure the stars are."""
    cols = [
        "model",
        "passed",
        "max_rhat",
        "min_ess_bulk",
        "min_ess_tail",
        "divergences",
        "draws",
        "attempts",
        "sample_seconds",
    ]
    shown = diag[[c for c in cols if c in diag.columns]]
    lines = [
        "## Bayesian variant",
        "",
        "Two-stage model: the published method's expected probabilities as offsets, one random effect per "
        "site and measure; every posterior draw scored by the method. Gates: R-hat <= "
        f"{gates.max_rhat:g}, bulk ESS >= {gates.min_ess_bulk:g}, tail ESS >= {gates.min_ess_tail:g}, at most "
        f"{gates.max_divergences} divergences, on every parameter.",
        "",
        _md_table(shown),
        "",
    ]
    rated = ratings[ratings["calculated"] & ratings["p_star_1"].notna()] if "p_star_1" in ratings else ratings.iloc[:0]
    if len(rated):
        p = rated[[c for c in rated.columns if c.startswith("p_star_")]].to_numpy()
        top = p.max(axis=1)
        tab = rated.assign(
            sure=top >= 0.9,
            likely=top >= 0.5,
            agree=rated["bayes_stars"].astype(float) == rated["calculated_stars"].astype(float),
        )
        summ = (
            tab.groupby(["program", "level"])
            .agg(
                entities=("entity_id", "size"),
                p_top_90=("sure", "mean"),
                p_top_50=("likely", "mean"),
                same_stars_as_published=("agree", "mean"),
            )
            .reset_index()
        )
        lines += [
            "Share of rated entities whose most probable star band has probability >= 0.9 (`p_top_90`) or "
            ">= 0.5, and share whose Bayesian stars (band of the posterior median star percentage) equal the "
            "published method's:",
            "",
            _md_table(summ),
            "",
            "Columns in `ratings.csv`: `bayes_*` (posterior median, `_q5`/`_q95` the 90% interval), "
            "`bayes_stars`, `p_star_1` ... `p_star_5`. Plots: `plots/bayes/`.",
            "",
        ]
    return lines
