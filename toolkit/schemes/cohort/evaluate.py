"""Outcome evaluation of a small cohort with pre and post measures: pure functions, no I/O.

Per domain, on the participants with both measures, with *improvement* = post - pre when
higher is better and pre - post otherwise:

- **Mean improvement.** Under the reference prior p(mu, sigma^2) proportional to 1 / sigma^2 for
  normal improvements, the posterior of the mean is Student t with n - 1 degrees of freedom,
  centred at the sample mean with scale s / sqrt(n). Its equal-tailed intervals are the
  classical t intervals, so their frequentist coverage is exact for normal data and close to
  nominal for the bounded, rounded scores of real instruments (``experiments/cohort_coverage.py``).
  P(mean improvement > threshold) follows from the same t posterior.
- **Share improved** (improvement >= the domain's ``improved_by``). Beta(a + k, b + n - k)
  posterior with the configured prior (Jeffreys by default, whose intervals have close to
  nominal frequentist coverage); P(share > reference rate) from the same posterior.
- **What the cohort can show**: the smallest detectable effects (:mod:`~toolkit.schemes.cohort.power`).

Examples
--------
>>> import numpy as np
>>> post = mean_posterior(np.array([1.0]), np.array([2.0]), np.array([25]), levels=(0.95,), threshold=0.0)
>>> round(float(post["lower_95"][0]), 3), round(float(post["upper_95"][0]), 3)
(0.174, 1.826)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.schemes.cohort import power as pw
from toolkit.schemes.cohort.config import CohortConfig, DomainSpec


def _tag(level: float) -> str:
    return f"{round(level * 100, 1):g}".replace(".", "_")


def mean_posterior(
    mean: np.ndarray, sd: np.ndarray, n: np.ndarray, *, levels: tuple[float, ...], threshold: float | np.ndarray
) -> dict[str, np.ndarray]:
    """Student-t posterior of the mean improvement: intervals per level and P(mean > threshold).

    Vectorised over cohorts (arrays of sample means, SDs and sizes).
    """
    from scipy.stats import t

    mean, sd, n = (np.asarray(v, dtype=float) for v in (mean, sd, n))
    df = n - 1
    se = sd / np.sqrt(n)
    out = {"posterior_mean": mean, "se": se}
    for lv in levels:
        q = t.ppf(1 - (1 - lv) / 2, df)
        out[f"lower_{_tag(lv)}"] = mean - q * se
        out[f"upper_{_tag(lv)}"] = mean + q * se
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.asarray(threshold, dtype=float) - mean) / se
    out["p_above_threshold"] = np.where(se > 0, t.sf(z, df), (mean > threshold).astype(float))
    return out


def share_posterior(
    k: np.ndarray,
    n: np.ndarray,
    *,
    prior: tuple[float, float],
    levels: tuple[float, ...],
    reference: float | np.ndarray,
) -> dict[str, np.ndarray]:
    """Beta posterior of the share improved: mean, intervals per level, P(share > reference). Vectorised."""
    from scipy.stats import beta

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    a, b = prior[0] + k, prior[1] + n - k
    out = {"posterior_mean": a / (a + b)}
    for lv in levels:
        out[f"lower_{_tag(lv)}"] = beta.ppf((1 - lv) / 2, a, b)
        out[f"upper_{_tag(lv)}"] = beta.ppf(1 - (1 - lv) / 2, a, b)
    out["p_above_reference"] = beta.sf(reference, a, b)
    return out


def improvement(pre: np.ndarray, post: np.ndarray, spec: DomainSpec) -> np.ndarray:
    d = np.asarray(post, dtype=float) - np.asarray(pre, dtype=float)
    return d if spec.higher_is_better else -d


def evaluate_domain(pre: np.ndarray, post: np.ndarray, spec: DomainSpec, config: CohortConfig) -> dict:
    """Every figure of one domain for the participants with both measures."""
    imp = improvement(pre, post, spec)
    n = len(imp)
    row: dict = {
        "n": n,
        "mean_pre": float(np.mean(pre)) if n else np.nan,
        "mean_post": float(np.mean(post)) if n else np.nan,
    }
    if n < 2:
        return row
    mean, sd = float(imp.mean()), float(imp.std(ddof=1))
    row.update(mean_improvement=mean, sd_improvement=sd, threshold=spec.threshold)
    mp = mean_posterior(np.array([mean]), np.array([sd]), np.array([n]), levels=config.levels, threshold=spec.threshold)
    for key, v in mp.items():
        if key not in ("posterior_mean",):
            row[f"mean_{key}"] = float(v[0])
    k = int((imp >= spec.improved_by - 1e-12).sum())
    row.update(improved=k, share_improved=k / n, improved_by=spec.improved_by, reference_rate=spec.reference_rate)
    sp = share_posterior(
        np.array([k]), np.array([n]), prior=config.share_prior, levels=config.levels, reference=spec.reference_rate
    )
    for key, v in sp.items():
        row[f"share_{key}"] = float(v[0])
    a, p = config.power.alpha, config.power.power
    row["mde_sd"] = pw.smallest_mean_change(n, a, p)
    row["mde_points"] = row["mde_sd"] * sd
    row["mde_share"] = pw.smallest_share(n, spec.reference_rate, a, p)
    row["mde_subgroup_sd"] = pw.smallest_subgroup_difference(n, a, p)
    return row


def evaluate_cohort(table: pd.DataFrame, config: CohortConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate every configured domain present in ``table`` (participant_id, domain, pre, post).

    Returns the evaluation (one row per domain) and the exclusions (rows without a post
    measure, by participant and domain).
    """
    rows, excluded = [], []
    for code, spec in config.domains.items():
        d = table.loc[table["domain"] == code]
        if d.empty:
            continue
        has_post = d["post"].notna().to_numpy()
        excluded.append(d.loc[~has_post, ["participant_id", "domain"]].assign(reason="no post measure"))
        both = d.loc[has_post]
        row = {
            "domain": code,
            "label": spec.label,
            "higher_is_better": spec.higher_is_better,
            "participants": int(d["participant_id"].nunique()),
            "without_post": int((~has_post).sum()),
        }
        row.update(evaluate_domain(both["pre"].to_numpy(float), both["post"].to_numpy(float), spec, config))
        rows.append(row)
    ex = (
        pd.concat(excluded, ignore_index=True)
        if excluded
        else pd.DataFrame(columns=["participant_id", "domain", "reason"])
    )
    return pd.DataFrame(rows), ex
