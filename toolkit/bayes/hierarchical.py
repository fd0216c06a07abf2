"""The full hierarchical logistic model: a measure's fixed part plus nested random intercepts.

``logit p_i = alpha + sum_j beta_j x_ij + sum_l sigma_l z_l[g_l(i)]`` with ``z_l ~ Normal(0, 1)``
(non-centred), ``sigma_l ~ HalfNormal(group_sd)``, and weakly informative priors on the
autoscaled fixed part. The design (knots, bounds, levels) is learnt once by
:func:`toolkit.expected.fit_design` and stored, like the frequentist model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.bayes.config import BayesConfig, Sampler, load_bayes_config
from toolkit.bayes.diagnostics import check_convergence
from toolkit.bayes.sampling import sample_model
from toolkit.errors import ConvergenceError, InputError, SpecError, check_is_fitted
from toolkit.expected import DesignState, build_matrix, fit_design
from toolkit.expected.formula import parse_formula
from toolkit.expected.model import outcome_array

if TYPE_CHECKING:
    import pymc as pm
    from arviz import InferenceData


def _summarise(draws: np.ndarray, index: pd.Index, interval: float = 0.9) -> pd.DataFrame:
    """Mean, sd, median and central interval of draws shaped (draws, k)."""
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    q = np.quantile(draws, [lo, 0.5, hi], axis=0)
    return pd.DataFrame(
        {
            "mean": draws.mean(axis=0),
            "sd": draws.std(axis=0, ddof=1),
            "median": q[1],
            f"q{lo * 100:g}": q[0],
            f"q{hi * 100:g}": q[2],
        },
        index=index,
    )


def _flat(idata: InferenceData, name: str) -> np.ndarray:
    """Posterior draws of ``name`` as (chains * draws, ...)."""
    a = np.asarray(idata["posterior"][name].values)
    return a.reshape((-1,) + a.shape[2:])


@dataclass(frozen=True)
class _Design:
    """What the PyMC model was built from, and what summarising its draws needs."""

    state: DesignState
    scale: tuple[np.ndarray, np.ndarray, np.ndarray, int]  # non-intercept columns, their means and SDs, intercept
    levels: list[pd.Index]  # each level's groups
    n_by_group: np.ndarray  # records per innermost group
    parent_codes: list[np.ndarray]  # each innermost group's code at every level


class HierarchicalModel:
    """Bayesian hierarchical logistic regression with nested random intercepts.

    Parameters
    ----------
    formula : str
        Fixed part, as for :func:`toolkit.expected.fit_expected` (``"y ~ bs(age, df=4) + x"``).
    outcome : str, optional
        Outcome column when the formula has no left side.
    group : str or sequence of str
        Grouping column(s), outer to inner for nested levels (``["contract_id", "site_id"]``).
    random_seed : int
        Sampler seed; the same data, config and seed give identical draws.
    config : BayesConfig, optional
        Priors, sampler and gates (default ``configs/bayes/des_2018.yaml``).
    sampler : Sampler, optional
        Overrides ``config.sampler``.
    require_convergence : bool
        Raise :class:`~toolkit.errors.ConvergenceError` when the gates fail (default False:
        the failures are in ``diagnostics_``).

    Attributes
    ----------
    group_effects_ : DataFrame indexed by the innermost group: ``mean``, ``sd``, ``median``,
        ``q5``, ``q95`` of the group's total log-odds effect (sum over levels), and ``n`` records.
    level_effects_ : dict of level name -> DataFrame (the same columns, that level's own effect).
    group_sd_ : DataFrame indexed by level: posterior of the between-group SD.
    coef_ : DataFrame indexed by design column: posterior of the fixed effects (original scale).
    idata_ : arviz.InferenceData. diagnostics_ : Diagnostics. design_state_ : DesignState.
    """

    def __init__(
        self,
        *,
        formula: str,
        outcome: str | None = None,
        group: str | Sequence[str] = "group",
        random_seed: int = 0,
        config: BayesConfig | None = None,
        sampler: Sampler | None = None,
        require_convergence: bool = False,
    ) -> None:
        self.formula = formula
        self.outcome = outcome
        self.group = group
        self.random_seed = random_seed
        self.config = config
        self.sampler = sampler
        self.require_convergence = require_convergence

    @property
    def _groups(self) -> list[str]:
        return [self.group] if isinstance(self.group, str) else list(self.group)

    def _codes(self, data: pd.DataFrame) -> tuple[list[np.ndarray], list[pd.Index]]:
        """Integer codes per level; a nested level's code is its path from the outermost level."""
        missing = [g for g in self._groups if g not in data.columns]
        if missing:
            raise InputError(f"grouping column(s) {missing} not in the data")
        codes, levels = [], []
        path = None
        for g in self._groups:
            col = data[g]
            if col.isna().any():
                raise InputError(f"grouping column {g!r} has {int(col.isna().sum())} missing value(s)")
            key = col.astype(str) if path is None else path + "\x1f" + col.astype(str)
            c, u = pd.factorize(key, sort=True)
            codes.append(c.astype(np.int64))
            levels.append(pd.Index([s.split("\x1f")[-1] for s in u], name=g))
            path = key
        return codes, levels

    def build_model(self, data: pd.DataFrame) -> pm.Model:
        """The PyMC model of ``data`` (nothing is stored: :meth:`fit` learns the design)."""
        return self._build(data)[0]

    def _build(self, data: pd.DataFrame) -> tuple[pm.Model, _Design]:
        """The PyMC model of ``data`` and the design it was built from."""
        from toolkit.bayes.sampling import set_compile_dir

        set_compile_dir()  # a compile directory of this process's own, unless PyTensor is already imported
        import pymc as pm

        pr = (self.config or load_bayes_config()).priors
        parsed = parse_formula(self.formula, self.outcome)
        assert parsed.outcome is not None  # parse_formula raises without an outcome
        y = outcome_array(data, parsed.outcome)
        state = fit_design(data, self.formula, self.outcome, parsed=parsed)
        x = build_matrix(state, data)
        names = state.column_names
        icpt = [j for j, n in enumerate(names) if n == "Intercept"]
        if len(icpt) != 1:
            raise SpecError("fit_hierarchical needs a formula with an intercept")
        rest = [j for j in range(x.shape[1]) if j != icpt[0]]
        xr = x[:, rest]
        mean, sd = xr.mean(axis=0), xr.std(axis=0)
        if np.any(sd == 0):
            raise SpecError(f"design column(s) {[names[rest[j]] for j in np.flatnonzero(sd == 0)]} are constant")
        xs = (xr - mean) / sd
        codes, levels = self._codes(data)
        with pm.Model() as model:
            alpha = pm.Normal("alpha", 0.0, pr.intercept_sd)
            beta_s = pm.Normal("beta_scaled", 0.0, pr.coef_sd, shape=xs.shape[1])
            eta = alpha + pm.math.dot(xs, beta_s)
            for g, c, lv in zip(self._groups, codes, levels, strict=True):
                sigma = pm.HalfNormal(f"sigma_{g}", pr.group_sd)
                z = pm.Normal(f"z_{g}", 0.0, 1.0, shape=len(lv))
                eta = eta + sigma * z[c]
            pm.Bernoulli("y", logit_p=eta, observed=y)
        first = np.unique(codes[-1], return_index=True)[1]  # one record of each innermost group
        design = _Design(
            state=state,
            scale=(np.array(rest), mean, sd, icpt[0]),
            levels=levels,
            n_by_group=np.bincount(codes[-1], minlength=len(levels[-1])),
            parent_codes=[c[first] for c in codes],
        )  # each inner group's code at every level
        return model, design

    def fit(self, data: pd.DataFrame) -> HierarchicalModel:
        """Sample the posterior; returns ``self``."""
        cfg = self.config or load_bayes_config()
        model, design = self._build(data)
        res = sample_model(model, self.sampler or cfg.sampler, self.random_seed)
        diag = check_convergence(res.idata, cfg.gates, f"hierarchical({', '.join(self._groups)})")
        diag.compile_seconds, diag.sample_seconds = res.compile_seconds, res.sample_seconds
        self._design = design
        self.design_state_ = design.state
        self.idata_ = res.idata
        self.diagnostics_ = diag
        self._summarise(cfg.scoring.interval)
        if self.require_convergence and not diag.passed:
            raise ConvergenceError("; ".join(diag.failures))
        return self

    def _summarise(self, interval: float) -> None:
        """The learned summaries (``coef_``, ``level_effects_``, ``group_sd_``, ``group_effects_``) of the draws."""
        post, design = self.idata_, self._design
        rest, mean, sd, icpt = design.scale
        beta = _flat(post, "beta_scaled") / sd
        alpha = _flat(post, "alpha") - beta @ mean
        names = design.state.column_names
        coef = np.zeros((len(alpha), len(names)))
        coef[:, icpt] = alpha
        coef[:, rest] = beta
        self.coef_ = _summarise(coef, pd.Index(names, name="term"), interval)
        self.level_effects_ = {}
        sds = []
        for g, lv in zip(self._groups, design.levels, strict=True):
            s = _flat(post, f"sigma_{g}")
            self.level_effects_[g] = _summarise(s[:, None] * _flat(post, f"z_{g}"), lv, interval)
            sds.append(_summarise(s[:, None], pd.Index([g], name="level"), interval))
        self.group_sd_ = pd.concat(sds)
        total = self._total_effect_draws()
        self.group_effects_ = _summarise(total, design.levels[-1], interval).assign(n=design.n_by_group)

    def _total_effect_draws(self) -> np.ndarray:
        """Draws of each innermost group's total effect: the sum of its own and its parents' effects."""
        post = self.idata_
        inner = self._design.levels[-1]
        posterior = post["posterior"]
        total = np.zeros((posterior.sizes["chain"] * posterior.sizes["draw"], len(inner)))
        parents = self._design.parent_codes
        for k, g in enumerate(self._groups):
            eff = _flat(post, f"sigma_{g}")[:, None] * _flat(post, f"z_{g}")
            total += eff[:, parents[k]]
        return total

    def effect_draws(self) -> pd.DataFrame:
        """Posterior draws (rows) of every innermost group's total effect (columns)."""
        check_is_fitted(self, "effect_draws", "idata_")
        return pd.DataFrame(self._total_effect_draws(), columns=self._design.levels[-1])


def fit_hierarchical(
    data: pd.DataFrame,
    formula: str,
    outcome: str | None = None,
    group: str | Sequence[str] = "group",
    random_seed: int = 0,
    *,
    config: BayesConfig | None = None,
    sampler: Sampler | None = None,
    require_convergence: bool = False,
) -> HierarchicalModel:
    """Fit a Bayesian hierarchical logistic regression (fixed part + nested random intercepts).

    Parameters
    ----------
    data : frame with the outcome (0/1), the formula's columns and the grouping column(s).
    formula : fixed part, as for :func:`toolkit.expected.fit_expected`.
    outcome : outcome column when the formula has no left side.
    group : grouping column, or columns outer to inner for nested levels.
    random_seed : sampler seed (identical draws on a re-run).
    config, sampler : priors, gates and sampler settings (default ``configs/bayes/des_2018.yaml``).
    require_convergence : raise :class:`~toolkit.errors.ConvergenceError` if the gates fail.

    Returns
    -------
    HierarchicalModel
        ``group_effects_`` (mean, sd, median, q5, q95 and n per group), ``group_sd_``,
        ``coef_``, ``idata_`` and ``diagnostics_``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.bayes import fit_hierarchical
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x": rng.normal(size=3000), "g": rng.integers(0, 30, 3000).astype(str)})
    >>> u = rng.normal(0, 0.5, 30)
    >>> df["y"] = rng.random(3000) < 1 / (1 + np.exp(-(0.3 * df["x"] + u[df["g"].astype(int)])))
    >>> m = fit_hierarchical(df, "y ~ x", group="g", random_seed=1)  # doctest: +SKIP
    >>> m.group_effects_[["mean", "sd"]].shape  # doctest: +SKIP
    (30, 2)
    """
    return HierarchicalModel(
        formula=formula,
        outcome=outcome,
        group=group,
        random_seed=random_seed,
        config=config,
        sampler=sampler,
        require_convergence=require_convergence,
    ).fit(data)
