"""What a release computes, with no I/O and no tracking: frame, fits, expected outcomes, ratings, checks.

:func:`compute_release_variant` is what both :func:`toolkit.release.pipeline.run_release` and
reproduction call, so that every column of a release (the Bayesian variant's too) is recomputed
the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from toolkit.expected.fitting import FittedMeasure, fit_measures
from toolkit.expected.spec import ModelSpec, load_model_set
from toolkit.records.accounting import check_accounting, record_accounting
from toolkit.records.aggregate import entity_measure_table
from toolkit.records.frame import ModelFrame, build_frame
from toolkit.release.config import ReleaseConfig
from toolkit.scoring import load_method, score_entities_with_parameters
from toolkit.scoring.config import MethodConfig

if TYPE_CHECKING:
    from toolkit.release.bayes_variant import BayesAugment

Say = Callable[[str], None]


def _quiet(msg: str) -> None:
    """A progress callback that says nothing."""


@dataclass
class ComputedRelease:
    """What a release computes, before anything is written or tracked."""

    model_frame: ModelFrame
    fits: dict[str, FittedMeasure]
    frame: pd.DataFrame  # records used, with ``expected_p``
    exclusions: pd.DataFrame
    entity_measures: pd.DataFrame
    ratings: pd.DataFrame
    standardisation: pd.DataFrame  # mu, sd per program and group; national averages
    accounting: pd.DataFrame  # where every record read ended (toolkit.records.accounting); aggregate
    bayes: BayesAugment | None = None  # when variant == "bayes"


def compute_release(
    tables: dict[str, pd.DataFrame],
    config: ReleaseConfig,
    method: MethodConfig | None = None,
    specs: dict[str, ModelSpec] | None = None,
    previous: pd.DataFrame | None = None,
    say: Say = _quiet,
) -> ComputedRelease:
    """Frame, fits, predictions, entity-measure table, the records' accounting and ratings from validated
    tables (no I/O, no tracking). Raises :class:`toolkit.records.accounting.AccountingInvariantError` when
    a record was lost without a reason or counted twice."""
    method = method or load_method(config.method)
    specs = specs or load_model_set(config.models)
    mf = build_frame(tables, config.window.start, config.window.end, method.ended_contracts.open_sites)
    say(f"frame: {len(mf.frame):,} records kept, {len(mf.exclusions):,} excluded")
    fits, p_all = fit_measures(mf.frame, specs, say)
    no_model = np.isnan(p_all)
    frame = mf.frame.assign(expected_p=p_all)
    exclusions = mf.exclusions
    if no_model.any():
        extra = frame.loc[
            no_model, ["participant_id", "period_of_service", "program", "measure", "site_id", "contract_id"]
        ].assign(reason="no model spec for this program and measure")
        exclusions = pd.concat([exclusions, extra], ignore_index=True)
        frame = frame.loc[~no_model]
    em = entity_measure_table(frame, mf.entities, config.window.end)
    say(f"entity-measure table: {em[['program', 'level', 'entity_id']].drop_duplicates().shape[0]:,} entities")
    accounting = record_accounting(tables["measure_records"], exclusions, frame, em, mf.entities, config.window.end)
    check_accounting(accounting)
    ratings, standardisation = score_entities_with_parameters(em, method, previous)
    return ComputedRelease(
        model_frame=mf,
        fits=fits,
        frame=frame,
        exclusions=exclusions,
        entity_measures=em,
        ratings=ratings,
        standardisation=standardisation,
        accounting=accounting,
    )


def compute_release_variant(
    tables: dict[str, pd.DataFrame],
    config: ReleaseConfig,
    method: MethodConfig | None = None,
    specs: dict[str, ModelSpec] | None = None,
    previous: pd.DataFrame | None = None,
    say: Say = _quiet,
) -> ComputedRelease:
    """:func:`compute_release` plus what the config's variant adds (the Bayesian columns)."""
    method = method or load_method(config.method)
    comp = compute_release(tables, config, method, specs, previous, say)
    if config.variant == "bayes":  # posterior columns beside the published ones (toolkit/release/bayes_variant.py)
        from toolkit.release.bayes_variant import bayes_augment, merge_columns

        comp.bayes = bayes_augment(comp, config, method, say)
        comp.ratings = merge_columns(comp.ratings, comp.bayes)
    return comp


def check_release(fits: dict[str, FittedMeasure], ratings: pd.DataFrame, config: ReleaseConfig) -> list[str]:
    """The release's checks; an empty list means passed."""
    failed = []
    for _key, f in sorted(fits.items()):
        m = f.metrics
        if not f.model.converged_:
            failed.append(f"{f.spec.name}: IRLS did not converge in {int(m['iterations'])} iterations")
        if m["calibration_in_the_large"] > config.checks.max_calibration_in_the_large:
            failed.append(
                f"{f.spec.name}: |O - E| / O = {m['calibration_in_the_large']:.4f} exceeds "
                f"{config.checks.max_calibration_in_the_large}"
            )
        if m["auc"] < config.checks.min_auc:
            failed.append(f"{f.spec.name}: AUC {m['auc']:.3f} below {config.checks.min_auc}")
    contracts = ratings[ratings["level"] == "contract"]
    for prog in sorted(ratings["program"].unique()):
        mine = contracts[contracts["program"] == prog]
        if mine["calculated"].any():
            continue
        # every contract new (a re-tendered program) leaves the program unrated; that is not a failure,
        # but established contracts with data and no calculated rating are
        established = mine["meets_minimum_data"] & ~(mine["status"] == "new_contract")
        if established.any():
            failed.append(
                f"{prog}: no contract has a calculated rating ({int(established.sum())} established "
                "contract(s) meet minimum data)"
            )
    return failed


def entity_oe(em: pd.DataFrame) -> pd.DataFrame:
    """Per entity and measure: observed, expected and their ratio (the funnel plots' points)."""
    out = em[["program", "level", "entity_id", "measure", "n", "actual", "expected"]].rename(
        columns={"actual": "observed"}
    )
    out = out[out["n"] > 0].copy()
    out["oe"] = out["observed"] / out["expected"]
    return out.reset_index(drop=True)


def model_metrics_table(fits: dict[str, FittedMeasure]) -> pd.DataFrame:
    """One row per fitted model: its name, program, measure, term variant, fit seconds and metrics."""
    return pd.DataFrame(
        [
            {
                "model": f.spec.name,
                "program": f.spec.program,
                "measure": f.spec.measure,
                "terms": f.formula_variant,
                "seconds": f.seconds,
                **f.metrics,
            }
            for f in fits.values()
        ]
    )


def sparse_level_table(fits: dict[str, FittedMeasure]) -> pd.DataFrame:
    """Per model: its sparse-level rule and each level (or interaction cell) the rule pooled, with where it
    went and its training events and non-events; a model whose rule pooled nothing has one row with no level."""
    rows: list[dict[str, Any]] = []
    for _key, f in sorted(fits.items()):
        rule = f.spec.sparse_levels
        base = {
            "model": f.spec.name,
            "rule": f"min {rule.min_events} events, {rule.min_non_events} non-events" if rule.active else "off",
        }
        pooled = f.model.design_state_.pooled
        rows += [{**base, **asdict(p)} for p in pooled] or [base]
    cols = ["model", "rule", "term", "level", "into", "events", "non_events", "reason"]
    return pd.DataFrame(rows).reindex(columns=cols)


def exclusion_summary(exclusions: pd.DataFrame) -> pd.DataFrame:
    """Excluded records counted by reason, program, measure and contract (the tracked, aggregate view)."""
    cols = ["reason", "program", "measure", "contract_id"]
    if exclusions.empty:
        return pd.DataFrame(columns=cols + ["records"])
    return exclusions.groupby(cols, sort=True, observed=True).size().rename("records").reset_index()


def release_metrics(
    ratings: pd.DataFrame, bands: Sequence[int], records_used: int, records_excluded: int
) -> dict[str, float]:
    """Headline figures of a release: records used and excluded; per program and level the entities,
    the rated ones and the count per star band (``bands``: the method's stars); per program the national
    average."""
    out = {"records_used": float(records_used), "records_excluded": float(records_excluded)}
    for (prog, level), g in ratings.groupby(["program", "level"]):
        out[f"{prog}.{level}.entities"] = float(len(g))
        out[f"{prog}.{level}.rated"] = float(g["calculated"].sum())
        stars = g["stars"].dropna()
        for s in bands:
            out[f"{prog}.{level}.stars_{s}"] = float((stars == s).sum())
        if level == "contract" and g["national_average"].notna().any():
            out[f"{prog}.national_average"] = float(g["national_average"].dropna().iloc[0])
    return out


def synthetic_world_origin(data_dir: Path) -> dict[str, Any]:
    """How to regenerate ``data_dir`` when it is a world written by ``toolkit synth`` / ``toolkit demo``
    (its ``world.json``): generator, scale, seed, site-effect SD and whether it holds events. Empty
    for any other folder. Reproduction uses it when the folder is gone (the input hashes still decide)."""
    info_path = data_dir / "world.json"
    if not info_path.is_file():
        return {}
    try:
        info = json.loads(info_path.read_text())
        return {
            "generator": str(info["generator"]),
            "scale": str(info["scale"]),
            "seed": int(info["seed"]),
            "site_effect_sd": float(info["site_effect_sd"]),
            "events": (data_dir / "events").is_dir(),
        }
    except (ValueError, KeyError, TypeError):
        return {}
