"""Benchmark of the expected-performance fit-predict stage: toolkit vs the naive path.

Runs, in ONE invocation, for the same list of tasks (frame, formula, outcome):

* ``toolkit``: :func:`toolkit.expected.fit_expected` then ``predict`` on the training frame;
* ``naive``:   ``patsy.dmatrices`` + ``statsmodels`` GLM Binomial ``fit()`` then ``predict``;
* ``glum``     (if installed, ``--no-glum`` to skip): the toolkit's design matrix fitted by
  ``glum.GeneralizedLinearRegressor`` (unpenalised binomial), to compare fitting engines.

Each path runs in its own subprocess so that its peak RSS (``ru_maxrss``) is its own; the
baseline RSS after loading the task frames is reported too. Prints wall times, peak memory,
the speed ratio and the largest coefficient difference against statsmodels.

The tasks come from :func:`make_tasks`: by default the synthetic DES world of
:mod:`toolkit.synth` (13 measure x program models, about 1M records at national scale),
joined as a release joins it, with the formulas of ``configs/models/des_2018``.
``--data stand-in`` uses a simpler generator of the same shape instead.

    python experiments/benchmark_expected.py --scale national --seed 2020
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SCALES = {"tiny": 100_000, "small": 300_000, "national": 1_000_000}

# (program, measure, share of records); 13 models as in the DES Star Ratings.
MODELS = [
    ("DMS", "full_13", 0.20),
    ("DMS", "full_26", 0.15),
    ("DMS", "pathway_26", 0.06),
    ("DMS", "bonus_26", 0.04),
    ("DMS", "full_52", 0.10),
    ("DMS", "pathway_52", 0.04),
    ("ESS", "full_13", 0.14),
    ("ESS", "full_26", 0.10),
    ("ESS", "pathway_26", 0.04),
    ("ESS", "bonus_26", 0.025),
    ("ESS", "full_52", 0.06),
    ("ESS", "pathway_52", 0.025),
    ("ESS", "ongoing_support", 0.02),
]

SPLINES = (
    "bs(age, df=4) + bs(jsci_score, df=4) + bs(time_on_income_support, df=3) + bs(time_in_assistance, df=4)"
    " + bs(unemployment_duration, df=4) + bs(ivi_growth, df=3) + bs(unemployment_rate, df=3)"
)
CATEGORICALS = (
    "age_youngest_child + barriers + ex_offender + cald_group + C(education, Treatment('year10'))"
    " + english_proficiency + C(employment_benchmark) + C(funding_level) + gender + homeless"
    " + income_support_type + primary_condition + permanent_condition + esat_exempt + transferred"
    " + indigenous*metro + state"
)
NUMERICS = "low_skill_vacancy_rate + np.log(labour_market_size) + sfd_change + medical_condition_count"


@dataclass
class Task:
    name: str
    frame: pd.DataFrame
    formula: str
    outcome: str


def _choice(rng: np.random.Generator, levels: list, p: list[float], n: int) -> np.ndarray:
    return np.asarray(levels, dtype=object)[rng.choice(len(levels), size=n, p=np.asarray(p) / np.sum(p))]


def _stand_in_frame(rng: np.random.Generator, n: int, measure: str) -> pd.DataFrame:
    """STAND-IN records with the contract columns and a known logistic truth for ``numerator``."""
    age = np.clip(np.round(rng.normal(40, 12, n)), 14, 70).astype(np.int64)
    jsci = np.clip(np.round(rng.gamma(6, 4, n)), 0, 80).astype(np.int64)
    tois = np.where(rng.random(n) < 0.15, 0.0, rng.beta(2, 2, n))
    tia = np.clip(rng.gamma(2, 180, n), 0, 3650)
    udur = np.clip(rng.exponential(30, n), 0, 600)
    ivi = np.clip(rng.normal(0, 25, n), -80, 200)
    urate = np.clip(rng.gamma(9, 0.6, n), 0.5, 40)
    f = {
        "age": age,
        "jsci_score": jsci,
        "time_on_income_support": tois,
        "time_in_assistance": tia,
        "unemployment_duration": udur,
        "ivi_growth": ivi,
        "unemployment_rate": urate,
        "age_youngest_child": _choice(rng, ["no_child", "0_5", "6_15", "16_plus"], [7, 1, 1.5, 0.5], n),
        "barriers": _choice(rng, ["none", "vocational", "non_vocational", "both"], [3, 2, 3, 2], n),
        "ex_offender": rng.random(n) < 0.08,
        "cald_group": _choice(rng, ["not_cald", "low", "medium", "high"], [8, 1, 0.6, 0.4], n),
        "education": _choice(
            rng,
            ["below_year10", "year10", "year11_12", "certificate", "diploma", "degree"],
            [1.5, 2, 2.5, 2.5, 1, 0.8],
            n,
        ),
        "english_proficiency": _choice(rng, ["good", "fair", "poor"], [8, 1.5, 0.5], n),
        "employment_benchmark": rng.choice([8, 15, 23, 30], size=n, p=[0.3, 0.35, 0.2, 0.15]).astype(np.int64),
        "funding_level": rng.integers(1, 6, n).astype(np.int64),
        "gender": _choice(rng, ["female", "male", "other"], [45, 53, 2], n),
        "homeless": rng.random(n) < 0.05,
        "indigenous": rng.random(n) < 0.07,
        "metro": rng.random(n) < 0.65,
        "income_support_type": _choice(
            rng,
            ["none", "jobseeker", "youth_allowance", "dsp", "parenting_payment", "other"],
            [1, 6, 1.2, 1, 0.6, 0.3],
            n,
        ),
        "primary_condition": _choice(
            rng,
            [
                "physical",
                "psychiatric",
                "intellectual",
                "learning",
                "neurological",
                "sensory",
                "acquired_brain_injury",
                "autism",
                "other",
            ],
            [35, 35, 5, 5, 5, 4, 2, 4, 5],
            n,
        ),
        "medical_condition_count": np.clip(rng.poisson(1.2, n) + 1, 1, 12).astype(np.int64),
        "permanent_condition": rng.random(n) < 0.6,
        "esat_exempt": rng.random(n) < 0.1,
        "transferred": rng.random(n) < 0.12,
        "transition_phase": _choice(
            rng, ["none", "employment_assistance", "post_placement_support", "ongoing_support"], [8, 1, 0.5, 0.5], n
        ),
        "os_funding_level": (
            _choice(rng, ["flexible", "moderate", "high"], [5, 3, 2], n)
            if measure == "ongoing_support"
            else np.full(n, "none", dtype=object)
        ),
        "state": _choice(rng, ["NSW", "VIC", "QLD", "SA", "WA", "TAS", "NT", "ACT"], [32, 26, 20, 7, 10, 2, 1, 2], n),
        "low_skill_vacancy_rate": rng.beta(4, 6, n),
        "labour_market_size": np.exp(rng.normal(5, 1, n)).clip(1, 5000),
        "sfd_change": rng.normal(1, 2, n).clip(-20, 20),
    }
    frame = pd.DataFrame(f)
    frame["transition_participant"] = frame["transition_phase"] != "none"
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("str")
    eta = (
        -1.0
        - 0.0006 * (age - 40) ** 2
        - 0.03 * (jsci - 20)
        - 0.8 * tois
        + 0.4 * np.log1p(tia / 100)
        - 0.3 * np.log1p(udur / 12)
        + 0.005 * ivi
        - 0.08 * (urate - 5)
        + 0.3 * (frame["education"] == "degree")
        - 0.4 * (frame["english_proficiency"] == "poor")
        - 0.2 * frame["indigenous"] * (~frame["metro"])
        + 0.1 * (frame["funding_level"] - 3)
        - 0.2 * (frame["primary_condition"] == "psychiatric")
        + rng.normal(0, 0.3, n)
    )
    frame["numerator"] = rng.random(n) < 1.0 / (1.0 + np.exp(-eta.to_numpy(dtype=float)))
    return frame


def config_formulas() -> dict[tuple[str, str], str] | None:
    """Formulas of the model set configs/models/des_2018 (term blocks rendered by toolkit.expected.spec)."""
    from toolkit.expected.spec import load_model_set

    return {(s.program, s.measure): f"{s.outcome} ~ {s.formula}" for s in load_model_set("des_2018").values()}


def _builtin_formula(measure: str) -> str:
    rhs = f"{SPLINES} + {CATEGORICALS} + {NUMERICS}"
    if measure == "ongoing_support":
        rhs += " + os_funding_level"
    if measure.startswith("bonus"):
        rhs = rhs.replace(" + state", "")
    return f"numerator ~ {rhs}"


def stand_in_tasks(scale: str, seed: int, formulas: dict | None = None) -> list[Task]:
    """STAND-IN: 13 DES-shaped tasks (see the module docstring), one seed split per model.

    The formulas are those of ``configs/models/des_2018`` when given, else built-in ones.
    """
    total = SCALES[scale]
    seeds = np.random.SeedSequence(seed).spawn(len(MODELS))
    tasks = []
    for (program, measure, share), ss in zip(MODELS, seeds, strict=True):
        formula = formulas[(program, measure)] if formulas else _builtin_formula(measure)
        frame = _stand_in_frame(np.random.default_rng(ss), round(total * share), measure)
        tasks.append(Task(f"{program}_{measure}", frame, formula, "numerator"))
    return tasks


def synth_tasks(scale: str, seed: int, formulas: dict) -> list[Task]:
    """Tasks from the synthetic DES world of :mod:`toolkit.synth`, joined as a release joins them
    (:func:`toolkit.records.frame.build_frame`), one task per model spec."""
    from toolkit.contracts import validate_tables
    from toolkit.records.frame import build_frame
    from toolkit.synth import generate_world

    world = generate_world(scale, seed=seed)
    typed, report = validate_tables(world.tables)
    report.raise_if_invalid()
    records = build_frame(typed, world.info["window_start"], world.info["window_end"]).frame
    # patsy (the naive path) cannot read pandas' nullable dtypes; the toolkit reads both. No column has nulls here.
    for c in records.columns:
        if str(records[c].dtype) == "Int64":
            records[c] = records[c].astype("int64")
        elif str(records[c].dtype) == "boolean":
            records[c] = records[c].astype(bool)
    tasks = []
    for (program, measure), formula in sorted(formulas.items()):
        frame = records[(records["program"] == program) & (records["measure"] == measure)].reset_index(drop=True)
        tasks.append(Task(f"{program}_{measure}", frame, formula, "numerator"))
    return tasks


def make_tasks(scale: str, seed: int, formulas: str = "configs", data: str = "synth") -> list[Task]:
    """The benchmark's tasks: the toolkit.synth world by default (``data="stand-in"``: the stand-in generator),
    with the formulas of configs/models/des_2018 (``formulas="configs"``, if present) or built-in ones."""
    specs = config_formulas() if formulas == "configs" else None
    if data == "synth":
        if specs is None:
            raise SystemExit("--data synth needs configs/models/des_2018")
        return synth_tasks(scale, seed, specs)
    return stand_in_tasks(scale, seed, specs)


# ------------------------------------------------------------------------ workers


def _run_toolkit(task: Task) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    from toolkit.expected import fit_expected

    m = fit_expected(task.frame, task.formula)
    p = m.predict(task.frame)
    return m.coef_.to_numpy(), list(m.coef_.index), p, m.bse_.to_numpy()


def _run_naive(task: Task) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    import patsy
    import statsmodels.api as sm

    frame = task.frame.assign(**{task.outcome: task.frame[task.outcome].astype(float)})
    y, x = patsy.dmatrices(task.formula, frame, return_type="dataframe")
    res = sm.GLM(y, x, family=sm.families.Binomial()).fit(tol=float(os.environ.get("NAIVE_TOL", "1e-8")))
    p = np.asarray(res.predict(x))
    return res.params.to_numpy(), list(x.columns), p, res.bse.to_numpy()


def _run_glum(task: Task) -> tuple[np.ndarray, list[str], np.ndarray, None]:
    from glum import GeneralizedLinearRegressor

    from toolkit.expected import build_matrix, fit_design

    state = fit_design(task.frame, task.formula)
    x = build_matrix(state, task.frame)
    y = task.frame[task.outcome].to_numpy(dtype=float)
    g = GeneralizedLinearRegressor(
        family="binomial", alpha=0, fit_intercept=False, gradient_tol=1e-10, max_iter=100
    ).fit(x, y)
    return g.coef_, state.column_names, g.predict(x), None


RUNNERS = {"toolkit": _run_toolkit, "naive": _run_naive, "glum": _run_glum}


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(path: str, data: Path, out: Path) -> None:
    """Run one path over every task; write timings, memory and coefficients."""
    import warnings

    with open(data, "rb") as f:
        tasks = pickle.load(f)
    base = _rss_mb()
    rows, coefs = [], {}
    t_all = time.perf_counter()
    for task in tasks:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coef, names, _p, bse = RUNNERS[path](task)
        rows.append(
            {"task": task.name, "rows": len(task.frame), "columns": len(names), "seconds": time.perf_counter() - t0}
        )
        coefs[task.name] = {
            "names": names,
            "coef": [float(v) for v in coef],
            "bse": None if bse is None else [float(v) for v in bse],
        }
    wall = time.perf_counter() - t_all
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write_text(
        json.dumps({"path": path, "wall": wall, "peak_mb": peak, "base_mb": base, "tasks": rows, "coefs": coefs})
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=list(SCALES), default="small")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument(
        "--formulas",
        choices=["configs", "builtin"],
        default="configs",
        help="model formulas: configs/models/des_2018 (default, if present) or the built-in stand-in ones",
    )
    ap.add_argument(
        "--data",
        choices=["stand-in", "synth"],
        default="synth",
        help="task data: the toolkit.synth world (default) or the stand-in generator here",
    )
    ap.add_argument("--no-glum", action="store_true", help="skip the glum engine comparison")
    ap.add_argument(
        "--naive-tol",
        type=float,
        default=1e-8,
        help="statsmodels GLM.fit tol (deviance change) for the naive path (default: its own 1e-8)",
    )
    ap.add_argument("--worker", choices=list(RUNNERS), help=argparse.SUPPRESS)
    ap.add_argument("--tasks-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.tasks_file, args.out)
        return 0

    paths = ["toolkit", "naive"]
    if not args.no_glum:
        try:
            import glum  # noqa: F401

            paths.append("glum")
        except ImportError:
            print("glum not installed: skipping the glum comparison")
    t0 = time.perf_counter()
    tasks = make_tasks(args.scale, args.seed, args.formulas, args.data)
    source = "configs/models/des_2018" if args.formulas == "configs" and config_formulas() else "built-in"
    what = "toolkit.synth world" if args.data == "synth" else "STAND-IN data generator, not the toolkit.synth world"
    print(
        f"tasks: {len(tasks)} ({what}; {source} formulas), "
        f"{sum(len(t.frame) for t in tasks):,} rows, scale={args.scale}, seed={args.seed}, "
        f"generated in {time.perf_counter() - t0:.1f} s"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "tasks.pkl"
        with open(data, "wb") as f:
            pickle.dump(tasks, f, protocol=pickle.HIGHEST_PROTOCOL)
        for path in paths:
            out = Path(tmp) / f"{path}.json"
            env = {**os.environ, "PYTHONWARNINGS": "ignore", "NAIVE_TOL": repr(args.naive_tol)}
            subprocess.run(
                [sys.executable, __file__, "--worker", path, "--tasks-file", str(data), "--out", str(out)],
                check=True,
                env=env,
            )
            results[path] = json.loads(out.read_text())
    print(
        f"naive path: statsmodels GLM Binomial fit(tol={args.naive_tol:g}); load average at the end: "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    report(results, tasks)
    return 0


def report(results: dict, tasks: list[Task]) -> None:
    tk = results["toolkit"]
    print(f"\n{'task':<22}{'rows':>9}{'cols':>6}" + "".join(f"{p + ' s':>12}" for p in results))
    for i, task in enumerate(tasks):
        r = tk["tasks"][i]
        print(
            f"{task.name:<22}{r['rows']:>9,}{r['columns']:>6}"
            + "".join(f"{results[p]['tasks'][i]['seconds']:>12.2f}" for p in results)
        )
    print(f"\n{'path':<10}{'wall s':>10}{'peak RSS MB':>14}{'baseline MB':>14}{'speed-up':>10}")
    for p, r in results.items():
        print(
            f"{p:<10}{r['wall']:>10.2f}{r['peak_mb']:>14.0f}{r['base_mb']:>14.0f}"
            f"{results['naive']['wall'] / r['wall']:>9.1f}x"
        )
    for other in [p for p in results if p != "toolkit"]:
        max_abs, max_rel, max_se = 0.0, 0.0, 0.0
        for name, c in tk["coefs"].items():
            o = results[other]["coefs"][name]
            assert c["names"] == o["names"], f"{name}: column names differ between toolkit and {other}"
            a, b = np.asarray(c["coef"]), np.asarray(o["coef"])
            max_abs = max(max_abs, float(np.max(np.abs(a - b))))
            max_rel = max(max_rel, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))))
            max_se = max(max_se, float(np.max(np.abs(a - b) / np.asarray(c["bse"]))))
        print(
            f"largest coefficient difference toolkit vs {other}: {max_abs:.3e} absolute, {max_rel:.3e} relative, "
            f"{max_se:.3e} standard errors (same column names, same order)"
        )
        if other == "naive":
            se_rel = max(
                float(np.max(np.abs(np.asarray(c["bse"]) / np.asarray(o_["bse"]) - 1)))
                for c, o_ in ((tk["coefs"][n], results["naive"]["coefs"][n]) for n in tk["coefs"])
            )
            print(f"largest standard-error difference toolkit vs naive: {se_rel:.3e} relative")


if __name__ == "__main__":
    raise SystemExit(main())
