"""Convergence diagnostics and their gate: R-hat, bulk and tail ESS, divergences.

Every parameter of a model counts (the worst one decides); a model that fails its gate
is reported with its numbers, never dropped silently. Plots: trace and rank plots of
the hyperparameters and the posterior of each level's between-entity SD.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from toolkit.bayes.config import Gates

if TYPE_CHECKING:
    import xarray as xr
    from arviz import InferenceData


@dataclass
class Diagnostics:
    """The worst value of each diagnostic over a model's parameters, and the gate's verdict."""

    model: str
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    parameters: int
    draws: int
    worst_rhat: str = ""
    worst_ess: str = ""
    failures: list[str] = field(default_factory=list)
    compile_seconds: float = float("nan")
    sample_seconds: float = float("nan")
    attempts: int = 1

    @property
    def passed(self) -> bool:
        """Whether the gate passed (no failure)."""
        return not self.failures

    def summary(self) -> str:
        """One progress line: the worst R-hat and ESS, divergences, and the gate's verdict when it failed."""
        return (
            f"max R-hat {self.max_rhat:.4f}, min ESS bulk {self.min_ess_bulk:.0f} tail {self.min_ess_tail:.0f}, "
            f"{self.divergences} divergences{'' if self.passed else ' -- GATE FAILED'}"
        )

    def as_row(self) -> dict[str, Any]:
        """The diagnostics as one row of the diagnostics table."""
        return {
            "model": self.model,
            "passed": self.passed,
            "max_rhat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "divergences": self.divergences,
            "parameters": self.parameters,
            "draws": self.draws,
            "worst_rhat": self.worst_rhat,
            "worst_ess": self.worst_ess,
            "compile_seconds": self.compile_seconds,
            "sample_seconds": self.sample_seconds,
            "attempts": self.attempts,
            "failures": "; ".join(self.failures),
        }


def _stacked(post: xr.Dataset, var_names: list[str]) -> Iterator[tuple[list[str], np.ndarray]]:
    """Yield (names, draws (P, chains, draws)) blocks of the posterior's parameters."""
    for v in var_names:
        da = post[v]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        a = np.asarray(da.transpose("chain", "draw", *extra).values, dtype=float)
        a = a.reshape(a.shape[0], a.shape[1], -1).transpose(2, 0, 1)
        shape = [da.sizes[d] for d in extra]
        for i in range(0, a.shape[0], 500):
            block = a[i : i + 500]
            idx = [np.unravel_index(k, shape) if shape else () for k in range(i, i + len(block))]
            yield [f"{v}{list(map(int, j)) if j else ''}" for j in idx], block


def check_convergence(
    idata: InferenceData, gates: Gates, model: str, var_names: list[str] | None = None
) -> Diagnostics:
    """Rank-normalised split R-hat, bulk and tail ESS of every parameter, divergences; apply ``gates``.

    Parameters that do not vary (the fixed diagonal of a correlation matrix) are left out:
    their R-hat and ESS are undefined.
    """
    post = idata["posterior"]
    names = list(var_names) if var_names is not None else [str(v) for v in post.data_vars]
    worst = {"rhat": (-np.inf, ""), "bulk": (np.inf, ""), "tail": (np.inf, "")}
    n_par = 0
    # blocks of parameters on every core: the sorts, FFTs and Geyer sums release the GIL
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = list(pool.map(_block_summaries, _stacked(post, names)))
    for labels, vals in results:
        if vals is None:
            continue
        n_par += len(labels)
        for key, pick in (("rhat", np.nanargmax), ("bulk", np.nanargmin), ("tail", np.nanargmin)):
            k = int(pick(vals[key]))
            v = float(vals[key][k])
            if (key == "rhat" and v > worst[key][0]) or (key != "rhat" and v < worst[key][0]):
                worst[key] = (v, labels[k])
    max_rhat, worst_r = worst["rhat"]
    min_bulk, worst_b = worst["bulk"]
    min_tail, worst_t = worst["tail"]
    stats = idata["sample_stats"]
    div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    n_draws = int(post.sizes["chain"] * post.sizes["draw"])
    failures = []
    if not max_rhat <= gates.max_rhat:
        failures.append(f"{model}: R-hat {max_rhat:.4f} ({worst_r}) exceeds {gates.max_rhat}")
    if not min_bulk >= gates.min_ess_bulk:
        failures.append(f"{model}: bulk ESS {min_bulk:.0f} ({worst_b}) below {gates.min_ess_bulk:.0f}")
    if not min_tail >= gates.min_ess_tail:
        failures.append(f"{model}: tail ESS {min_tail:.0f} ({worst_t}) below {gates.min_ess_tail:.0f}")
    if div > gates.max_divergences:
        failures.append(f"{model}: {div} divergent transition(s) (allowed {gates.max_divergences})")
    worst_e = worst_b if min_bulk <= min_tail else worst_t
    return Diagnostics(
        model=model,
        max_rhat=max_rhat,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        divergences=div,
        parameters=n_par,
        draws=n_draws,
        worst_rhat=worst_r,
        worst_ess=worst_e,
        failures=failures,
    )


def _block_summaries(item: tuple[list[str], np.ndarray]) -> tuple[list[str], dict[str, np.ndarray] | None]:
    """R-hat, bulk and tail ESS of a block of parameters (labels, draws (P, chains, draws)), leaving out the
    parameters that do not vary; ``None`` when none varies."""
    from toolkit.bayes.convergence import summaries  # numba: imported when first needed

    labels, a = item
    live = a.std(axis=(1, 2)) > 0
    if not live.any():
        return [], None
    a, labels = a[live], [lab for lab, ok in zip(labels, live, strict=True) if ok]
    return labels, dict(zip(("rhat", "bulk", "tail"), summaries(a), strict=True))


def diagnostics_table(diags: list[Diagnostics]) -> pd.DataFrame:
    """One row per model, sorted by model name."""
    return pd.DataFrame([d.as_row() for d in diags]).sort_values("model", kind="stable").reset_index(drop=True)


def convergence_plots(idata: InferenceData, var_names: list[str], folder: Path, stem: str, title: str) -> list[Path]:
    """Trace and rank plots of ``var_names`` and the posterior of each SD; returns the PNG paths."""
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in ("trace", "rank"):
        axes = (
            az.plot_trace(idata, var_names=var_names, compact=True)
            if kind == "trace"
            else az.plot_rank(idata, var_names=var_names)
        )
        fig = np.asarray(axes).ravel()[0].figure
        fig.suptitle(f"{title}: {kind} plot", y=1.0)
        fig.tight_layout()
        p = folder / f"{kind}_{stem}.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        out.append(p)
    sds = [v for v in var_names if v.startswith("sigma")]
    if sds:
        axes = az.plot_posterior(idata, var_names=sds, hdi_prob=0.9)
        fig = np.asarray(axes).ravel()[0].figure
        fig.suptitle(f"{title}: between-entity SD (log-odds), 90% HDI", y=1.0)
        fig.tight_layout()
        p = folder / f"sd_posterior_{stem}.png"
        fig.savefig(p, dpi=80)
        plt.close(fig)
        out.append(p)
    return out
