"""The expected-performance model: a binomial logit on an explicit, stored design."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import InputError, SpecError, check_is_fitted
from toolkit.expected.design import DesignState, build_matrix, check_frame, linear_predictor
from toolkit.expected.formula import parse_formula
from toolkit.expected.irls import AliasedColumnsError, IRLSResult, SeparationError, fit_logistic
from toolkit.expected.penalised import (
    PenalisedResult,
    fit_penalised_logistic,
    penalty_blocks,
    penalty_settings,
    restrict_blocks,
    smoothing_table,
)
from toolkit.expected.policy import check_policies
from toolkit.expected.sparse import SparseRule, describe_columns, sparse_design
from toolkit.expected.summary import coefficient_table, fit_statistics, summary_text

FORMAT_VERSION = 1
FAMILIES = ("spline_glm", "penalised_spline")


class ExpectedModel:
    """Binomial-logit model of a 0/1 outcome with a patsy-style formula.

    Parameters
    ----------
    formula : patsy formula, ``"y ~ rhs"`` or ``"rhs"`` with ``outcome`` given.
    outcome : outcome column (0/1 numbers or booleans) when the formula has no left side.
    out_of_range : "clip" (default), "extrapolate" or "error": what prediction does with
        values outside a numeric factor's training range (a warning names column and count).
    unseen_level : "error" (default) or "reference": what prediction does with levels absent
        from training.
    max_iter, dev_tol, step_tol : IRLS controls (see :func:`toolkit.expected.irls.fit_logistic`).
    sparse_levels : the sparse-level rule, ``{"min_events": k, "min_non_events": k, "neighbours":
        {column: {level: level}}}`` (:mod:`toolkit.expected.sparse`), or None (off, the default): levels
        and interaction cells with too few events or non-events in training are pooled before the fit.
    aliased : "error" (default) or "drop": what a rank-deficient design does. "drop" fits without the
        columns that are linear combinations of earlier ones (or all zero), as R's ``glm`` does: their
        coefficients are 0 in prediction, their standard errors NaN, and their names are in ``aliased_``.
    family : "spline_glm" (default): maximum likelihood; "penalised_spline": every ``bs()`` main-effect term gets
        a curvature penalty with its smoothing parameter chosen from the data (:mod:`toolkit.expected.penalised`).
    penalty : settings of the penalised family: ``criterion`` ("ubre", "gcv" or "fixed"), ``fixed_lambda``,
        ``log10_lambda_range``, ``grid_step`` (None: the defaults).

    Attributes
    ----------
    design_state_ : DesignState, the fitted design (knots, bounds, levels, columns, pooled levels).
    coef_, bse_ : pd.Series by design column. cov_ : pd.DataFrame.
    fit_stats_ : dict of deviance, null deviance, AIC, n, events, iterations, converged, ...
    aliased_ : list of the design columns dropped as aliased (empty unless ``aliased="drop"`` dropped some).
    smoothing_ : per penalised term (family "penalised_spline"; empty otherwise): term, columns, lambda,
        log10_lambda, penalty_scale, edf (effective degrees of freedom).
    """

    def __init__(
        self,
        *,
        formula: str,
        outcome: str | None = None,
        out_of_range: str = "clip",
        unseen_level: str = "error",
        max_iter: int = 50,
        dev_tol: float = 1e-12,
        step_tol: float = 1e-9,
        sparse_levels: dict[str, Any] | None = None,
        aliased: str = "error",
        family: str = "spline_glm",
        penalty: dict[str, Any] | None = None,
    ):
        self.formula = formula
        self.outcome = outcome
        self.out_of_range = out_of_range
        self.unseen_level = unseen_level
        self.max_iter = max_iter
        self.dev_tol = dev_tol
        self.step_tol = step_tol
        self.sparse_levels = sparse_levels
        self.aliased = aliased
        self.family = family
        self.penalty = penalty

    # ------------------------------------------------------------------ fitting
    def fit(self, data: pd.DataFrame) -> ExpectedModel:
        """Learn the design state and the coefficients from ``data``; returns ``self``."""
        check_policies(self.out_of_range, self.unseen_level)
        parsed = parse_formula(self.formula, self.outcome)
        check_frame(data, [parsed.outcome] + parsed.columns, "training data")
        y = outcome_array(data, parsed.outcome)
        rule = SparseRule.from_params(self.sparse_levels)
        state = sparse_design(data, self.formula, y, rule, parsed=parsed)
        x = build_matrix(state, data, self.out_of_range, self.unseen_level)
        if self.aliased not in ("error", "drop"):
            raise SpecError(f"aliased must be 'error' or 'drop', not {self.aliased!r}")
        if self.family not in FAMILIES:
            raise SpecError(f"family must be one of {FAMILIES}, not {self.family!r}")
        res: IRLSResult | PenalisedResult
        smoothing: list[dict[str, Any]] = []
        try:
            if self.family == "penalised_spline":
                res, dropped, smoothing = self._fit_penalised(x, y, state)
            else:
                res, dropped = self._fit_columns(x, y, state)
        except SeparationError as exc:
            raise SeparationError(_separation_message(exc, state, rule, data, y), exc.columns) from None
        del x
        coef, cov = res.coef, res.cov
        if dropped:  # aliased columns: coefficient 0 in prediction, covariance 0 (standard error NaN below)
            keep = np.setdiff1d(np.arange(len(state.column_names)), dropped)
            coef = np.zeros(len(state.column_names))
            coef[keep] = res.coef
            cov = np.zeros((len(coef), len(coef)))
            cov[np.ix_(keep, keep)] = res.cov
        stats = fit_statistics(
            deviance=res.deviance,
            null_deviance=res.null_deviance,
            n_obs=res.n_obs,
            n_events=res.n_events,
            n_params=len(res.coef),
            n_iter=res.n_iter,
            converged=res.converged,
        )
        if isinstance(res, PenalisedResult):  # information criteria on the effective degrees of freedom
            edf = float(np.sum(res.edf))
            stats.update(
                edf=edf,
                aic=float(res.deviance + 2.0 * edf),
                bic=float(res.deviance + np.log(res.n_obs) * edf),
                smoothing_criterion=res.criterion,
                smoothing_score=res.score,
            )
        self._set_fitted(state, coef, cov, stats, aliased=[state.column_names[j] for j in dropped], smoothing=smoothing)
        return self

    def _fit_penalised(
        self, x: np.ndarray, y: np.ndarray, state: DesignState
    ) -> tuple[PenalisedResult, list[int], list[dict[str, Any]]]:
        """Penalised IRLS with smoothing parameters chosen from the data; aliased columns as in :meth:`_fit_columns`."""
        settings = penalty_settings(self.penalty)
        names = state.column_names
        blocks = penalty_blocks(state, x)

        def pirls(design: np.ndarray, blk: list, cols: list[str]) -> PenalisedResult:
            return fit_penalised_logistic(
                design, y, blk, settings, max_iter=max(self.max_iter, 100), dev_tol=self.dev_tol,
                step_tol=self.step_tol, names=cols,
            )  # fmt: skip

        try:
            res = pirls(x, blocks, names)
            return res, [], smoothing_table(blocks, res, names)
        except AliasedColumnsError as exc:
            if self.aliased != "drop":
                raise
            keep = np.setdiff1d(np.arange(x.shape[1]), exc.columns)
            kept = [names[j] for j in keep]
            sub_blocks = restrict_blocks(blocks, keep)
            res = pirls(np.asfortranarray(x[:, keep]), sub_blocks, kept)
            return res, sorted(exc.columns), smoothing_table(sub_blocks, res, kept)

    def _fit_columns(self, x: np.ndarray, y: np.ndarray, state: DesignState) -> tuple[IRLSResult, list[int]]:
        """IRLS on the design; with ``aliased="drop"`` a rank-deficient design is refitted without its aliased
        columns (returned as positions)."""
        names = state.column_names

        def irls(design: np.ndarray, cols: list[str]) -> IRLSResult:
            return fit_logistic(
                design, y, max_iter=self.max_iter, dev_tol=self.dev_tol, step_tol=self.step_tol, names=cols
            )

        try:
            return irls(x, names), []
        except AliasedColumnsError as exc:
            if self.aliased != "drop":
                raise
            keep = np.setdiff1d(np.arange(x.shape[1]), exc.columns)
            return irls(np.asfortranarray(x[:, keep]), [names[j] for j in keep]), sorted(exc.columns)

    def _set_fitted(
        self,
        state: DesignState,
        coef: np.ndarray,
        cov: np.ndarray,
        stats: dict,
        aliased: list[str] | None = None,
        smoothing: list[dict[str, Any]] | None = None,
    ) -> None:
        names = pd.Index(state.column_names, dtype=object)
        self.design_state_ = state
        self.coef_ = pd.Series(np.asarray(coef, dtype=np.float64), index=names, name="coef")
        self.cov_ = pd.DataFrame(np.asarray(cov, dtype=np.float64), index=names, columns=names)
        self.aliased_ = list(aliased or [])
        self.smoothing_ = [dict(s) for s in smoothing or []]
        self.bse_ = pd.Series(np.sqrt(np.diag(self.cov_.to_numpy())), index=names, name="std err")
        if self.aliased_:
            self.bse_[self.aliased_] = np.nan
        self.fit_stats_ = dict(stats)
        self.n_iter_ = stats["iterations"]
        self.converged_ = stats["converged"]

    def _check_fitted(self, method: str) -> None:
        """Raise :class:`~toolkit.errors.NotFittedError` naming ``method`` when the model is not fitted."""
        check_is_fitted(self, method, "coef_")

    # --------------------------------------------------------------- prediction
    def predict_linear(
        self, data: pd.DataFrame, *, out_of_range: str | None = None, unseen_level: str | None = None
    ) -> np.ndarray:
        """Linear predictor (log-odds) per row of ``data``, in row order, from the stored state."""
        self._check_fitted("predict_linear")
        oor = out_of_range or self.out_of_range
        unseen = unseen_level or self.unseen_level
        check_policies(oor, unseen)
        return linear_predictor(self.design_state_, data, self.coef_.to_numpy(), oor, unseen)

    def predict(self, data: pd.DataFrame, **policy: str) -> np.ndarray:
        """Probability of the outcome per row of ``data`` (float64, row order)."""
        from scipy.special import expit

        self._check_fitted("predict")
        return expit(self.predict_linear(data, **policy))

    def design_matrix(self, data: pd.DataFrame) -> pd.DataFrame:
        """The design matrix of ``data`` under the stored state, as a named frame."""
        self._check_fitted("design_matrix")
        x = build_matrix(self.design_state_, data, self.out_of_range, self.unseen_level)
        return pd.DataFrame(x, columns=self.coef_.index, index=data.index)

    # ------------------------------------------------------------------ summary
    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table (coef, std err, z, P>|z|, confidence interval); ``.attrs["fit"]`` holds fit stats."""
        self._check_fitted("summary")
        table = coefficient_table(self.coef_, self.bse_, level)
        table.attrs["fit"] = dict(self.fit_stats_)
        return table

    def summary_text(self, level: float = 0.95) -> str:
        """The summary as readable text."""
        self._check_fitted("summary_text")
        return summary_text(
            self.summary(level), self.fit_stats_, self.design_state_.formula, self.design_state_.outcome
        )

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state: design, coefficients, covariance, fit statistics, policies. No data rows."""
        self._check_fitted("to_dict")
        return {
            "format": "toolkit.expected.ExpectedModel",
            "version": FORMAT_VERSION,
            "params": {
                "formula": self.formula,
                "outcome": self.outcome,
                "out_of_range": self.out_of_range,
                "unseen_level": self.unseen_level,
                "max_iter": self.max_iter,
                "dev_tol": self.dev_tol,
                "step_tol": self.step_tol,
                **({"sparse_levels": self.sparse_levels} if self.sparse_levels is not None else {}),
                **({"aliased": self.aliased} if self.aliased != "error" else {}),
                **({"family": self.family} if self.family != "spline_glm" else {}),
                **({"penalty": self.penalty} if self.penalty is not None else {}),
            },
            "design": self.design_state_.to_dict(),
            "coef": [float(v) for v in self.coef_.to_numpy()],
            "cov": [[float(v) for v in row] for row in self.cov_.to_numpy()],
            "fit": dict(self.fit_stats_),
            **({"aliased_columns": list(self.aliased_)} if self.aliased_ else {}),
            **({"smoothing": [dict(s) for s in self.smoothing_]} if self.smoothing_ else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExpectedModel:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if d.get("format") != "toolkit.expected.ExpectedModel" or d.get("version") != FORMAT_VERSION:
            raise SpecError("not a stored ExpectedModel of a supported version")
        model = cls(**d["params"])
        state = DesignState.from_dict(d["design"])
        if len(d["coef"]) != len(state.columns):
            raise SpecError("stored coefficients do not match the stored design")
        model._set_fitted(
            state, np.array(d["coef"]), np.array(d["cov"]), d["fit"], d.get("aliased_columns"), d.get("smoothing")
        )
        return model

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text."""
        self._check_fitted("to_json")
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ExpectedModel:
        return cls.from_dict(json.loads(text))

    def __repr__(self) -> str:
        state = "fitted" if hasattr(self, "coef_") else "not fitted"
        return f"ExpectedModel(formula={self.formula!r}, outcome={self.outcome!r}, {state})"


def _separation_message(
    exc: SeparationError, state: DesignState, rule: SparseRule, data: pd.DataFrame, y: np.ndarray
) -> str:
    """The IRLS failure with the terms and levels of its largest coefficients, and what the sparse-level rule
    pooled (or that it was off)."""
    where = describe_columns(state, exc.columns, data, y)
    if not rule.active:
        done = "the sparse-level rule is off"
    else:
        pooled = "; ".join(p.describe() for p in state.pooled) or "nothing"
        done = f"the sparse-level rule ({rule.describe()}) pooled {pooled} and applies to no other level"
    return f"{exc}" + (f" Separating: {where}." if where else "") + f" ({done})"


def outcome_array(data: pd.DataFrame, column: str) -> np.ndarray:
    """The outcome as float64 0/1; InputError (with a count, no values) if it is not binary."""
    col = data[column]
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(col.dtype):
        raise InputError(f"outcome column {column!r} must be boolean or 0/1 numbers, has dtype {col.dtype}")
    y = col.to_numpy(dtype=np.float64)
    bad = int(np.count_nonzero((y != 0) & (y != 1)))
    if bad:
        raise InputError(f"outcome column {column!r} has {bad} value(s) other than 0 and 1")
    return y


def fit_expected(
    data: pd.DataFrame,
    formula: str,
    outcome: str | None = None,
    *,
    out_of_range: str = "clip",
    unseen_level: str = "error",
    max_iter: int = 50,
    dev_tol: float = 1e-12,
    step_tol: float = 1e-9,
    sparse_levels: dict[str, Any] | None = None,
    aliased: str = "error",
    family: str = "spline_glm",
    penalty: dict[str, Any] | None = None,
) -> ExpectedModel:
    """Fit a binomial-logit expected-performance model.

    Parameters
    ----------
    data : training frame; every column the formula uses must be present and complete.
    formula : patsy formula: numeric columns, categorical columns (Treatment coding,
        ``C(x, Treatment('ref'))``, ``C(x, levels=[...])``), ``bs(x, df=k[, degree=d])``,
        ``bs(x, knots=[...], lower_bound=.., upper_bound=..)``, ``cr(x, df=k, constraints='center')``,
        interactions ``a:b`` and ``a*b``, ``I(...)`` and ``np.log``-type functions.
    outcome : outcome column if the formula has no left-hand side.
    out_of_range, unseen_level : prediction policies (see :class:`ExpectedModel`).
    sparse_levels : the sparse-level rule (see :class:`ExpectedModel`), None: off.
    aliased : "error" or "drop": a rank-deficient design (see :class:`ExpectedModel`).
    family, penalty : "spline_glm" (maximum likelihood) or "penalised_spline" (penalised B-spline terms, smoothing
        chosen from the data) and its settings (see :class:`ExpectedModel`).

    Returns
    -------
    ExpectedModel
        Fitted; ``predict(new)`` gives probabilities from the stored design state.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.expected import fit_expected
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"age": rng.integers(15, 65, 2000),
    ...                    "education": rng.choice(["year12", "degree", "year10"], 2000)})
    >>> df["employed"] = rng.random(2000) < 0.3 + 0.1 * (df["education"] == "degree")
    >>> m = fit_expected(df, "employed ~ bs(age, df=4) + C(education, Treatment('year12'))")
    >>> list(m.coef_.index[:2])
    ['Intercept', "C(education, Treatment('year12'))[T.degree]"]
    >>> m.predict(df.head(3)).shape
    (3,)
    >>> m.fit_stats_["converged"]
    True
    """
    model = ExpectedModel(
        formula=formula,
        outcome=outcome,
        out_of_range=out_of_range,
        unseen_level=unseen_level,
        max_iter=max_iter,
        dev_tol=dev_tol,
        step_tol=step_tol,
        sparse_levels=sparse_levels,
        aliased=aliased,
        family=family,
        penalty=penalty,
    )
    return model.fit(data)
