"""The cohort evaluation's plain statement and report (Markdown and HTML); aggregates only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.html import render
from toolkit.html.frames import frame_table
from toolkit.schemes.cohort.config import CohortConfig
from toolkit.schemes.cohort.evaluate import _tag


def _num(v: float, digits: int = 1) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _g(v: float) -> str:
    """A configured number as written (5, 0.25), not padded with zeros."""
    return f"{v:g}"


def _prob(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return "above 0.99" if v > 0.99 else ("below 0.01" if v < 0.01 else f"{v:.2f}")


def _pct(v: float) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.0f}%"


def domain_statement(r: pd.Series, config: CohortConfig) -> list[str]:
    """Plain sentences about one domain: what was seen, how sure, and what the cohort size allows."""
    hi = max(config.levels)
    t = _tag(hi)
    better = "higher" if r["higher_is_better"] else "lower"
    lines = [
        f"**{r['label']}** ({better} is better): {int(r['n'])} participants with both measures"
        + (f" ({int(r['without_post'])} without a follow-up measure were left out)." if r["without_post"] else ".")
    ]
    if r["n"] < 2 or "mean_improvement" not in r or pd.isna(r.get("mean_improvement")):
        return lines + ["Too few participants with both measures to say anything."]
    lines.append(
        f"The mean improvement was {_num(r['mean_improvement'], 2)} points ({int(hi * 100)}% credible interval "
        f"{_num(r[f'mean_lower_{t}'], 2)} to {_num(r[f'mean_upper_{t}'], 2)}); the probability that the true mean "
        f"improvement exceeds {_g(r['threshold'])} points is {_prob(r['mean_p_above_threshold'])}."
    )
    lines.append(
        f"{int(r['improved'])} of {int(r['n'])} ({_pct(r['share_improved'])}) improved by at least "
        f"{_g(r['improved_by'])} points ({int(hi * 100)}% interval for the share {_pct(r[f'share_lower_{t}'])} "
        f"to {_pct(r[f'share_upper_{t}'])}); the probability that the true share exceeds the reference rate of "
        f"{_pct(r['reference_rate'])} is {_prob(r['share_p_above_reference'])}."
    )
    a, p = config.power.alpha, config.power.power
    can = (
        f"With {int(r['n'])} participants the cohort can reliably detect ({int(p * 100)}% power, "
        f"{_g(a * 100)}% two-sided) a mean change of at least {_num(r['mde_sd'], 2)} standard deviations of "
        f"the change, about {_num(r['mde_points'], 2)} points; a smaller true change may be real but would "
        f"usually not stand out from chance."
    )
    if np.isfinite(r["mde_share"]):
        can += (
            f" Only a true share improved of at least {_pct(r['mde_share'])} would reliably stand out from the "
            f"reference rate of {_pct(r['reference_rate'])}."
        )
    else:
        can += (
            f" No true share improved would reliably stand out from the reference rate of {_pct(r['reference_rate'])}."
        )
    lines.append(can)
    return lines


def statement(evaluation: pd.DataFrame, config: CohortConfig, n_participants: int) -> str:
    """The whole plain statement (Markdown)."""
    out = [f"# Cohort evaluation: {config.name}", "", f"{n_participants} participants.", ""]
    for _, r in evaluation.iterrows():
        out += [" ".join(domain_statement(r, config)), ""]
    sub = evaluation["mde_subgroup_sd"].dropna()
    out += [
        "**What this cohort cannot show.** "
        "There is no comparison group, so a change cannot be attributed to the service: people often enter "
        "a service at a low point and scores that start low tend to rise on re-measurement (regression to the "
        "mean), and circumstances change for reasons of their own."
        + (
            f" Comparing two halves of the cohort (for example the two intake waves) could only detect "
            f"differences of about {_num(float(sub.max()), 2)} standard deviations, so subgroup comparisons are "
            f"not informative."
            if not sub.empty
            else ""
        )
        + (
            f" With {len(evaluation)} domains, one of them can look better or worse than it is by chance; read "
            f"them together."
            if len(evaluation) > 1
            else ""
        ),
        "",
    ]
    return "\n".join(out)


def evaluation_table(evaluation: pd.DataFrame, config: CohortConfig) -> pd.DataFrame:
    """The reviewer's columns, formatted."""
    rows = []
    for _, r in evaluation.iterrows():
        row = {"domain": r["label"], "n": int(r["n"]), "without follow-up": int(r["without_post"])}
        if "mean_improvement" in r and pd.notna(r.get("mean_improvement")):
            for lv in config.levels:
                t = _tag(lv)
                row[f"mean improvement ({int(lv * 100)}% CrI)"] = (
                    f"{_num(r['mean_improvement'], 2)} "
                    f"({_num(r[f'mean_lower_{t}'], 2)} to {_num(r[f'mean_upper_{t}'], 2)})"
                )
            row["P(mean > threshold)"] = f"{_prob(r['mean_p_above_threshold'])} (threshold {_g(r['threshold'])})"
            for lv in config.levels:
                t = _tag(lv)
                row[f"share improved ({int(lv * 100)}% CrI)"] = (
                    f"{_pct(r['share_improved'])} ({_pct(r[f'share_lower_{t}'])} to {_pct(r[f'share_upper_{t}'])})"
                )
            row["P(share > reference)"] = (
                f"{_prob(r['share_p_above_reference'])} (reference {_pct(r['reference_rate'])})"
            )
            row["smallest detectable change"] = f"{_num(r['mde_sd'], 2)} SD = {_num(r['mde_points'], 2)} points"
        if "true_mean_improvement" in r:
            row["truth (mean, share)"] = f"{_num(r['true_mean_improvement'], 2)}, {_pct(r['true_share_improved'])}"
        rows.append(row)
    return pd.DataFrame(rows)


def html_report(evaluation: pd.DataFrame, config: CohortConfig, statement_md: str, run_note: str) -> str:
    """The report page (template ``cohort_report.html.j2``): the table and the plain statement."""
    paragraphs = [p.replace("**", "") for p in statement_md.split("\n\n")[1:] if p.strip()]
    return render(
        "cohort_report.html.j2",
        title=f"Cohort evaluation: {config.name}",
        run_note=run_note,
        table=frame_table(evaluation_table(evaluation, config)),
        paragraphs=paragraphs,
    )
