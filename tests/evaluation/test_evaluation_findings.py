"""What the evaluation finds on a synthetic world with planted miscalibration, and the baseline against itself."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.evaluation.config import check_evaluation_config
from toolkit.evaluation.pipeline import compute_tables, load_specs, read_oracle
from toolkit.release.inputs import load_release_inputs
from toolkit.scoring import load_method

CONFIG = {
    "name": "planted",
    "window": {"start": "2018-07-01", "end": "2020-03-31"},
    "measures": ["dms_full_13", "dms_full_26", "ess_full_13", "ess_full_26"],
    "folds": {"k": 2, "seed": 1},
    "candidates": [
        {"name": "full", "models": "des_2018", "role": "baseline"},
        {"name": "lean", "models": "des_2018_lean"},
    ],
    "subgroups": [
        {"name": "homeless", "column": "homeless"},
        {"name": "age_band", "column": "age", "bins": [0, 30, 50]},
    ],
}


@pytest.fixture(scope="module")
def planted_world(tmp_path_factory):
    """A tiny world where homelessness is common (25%) and has a strong true effect (-1.2 on the log-odds)."""
    from toolkit.synth import generate_world, write_world
    from toolkit.synth.params import load_world_params
    from toolkit.synth.world import add_oracle

    d = load_world_params().model_dump(mode="json")
    d["participants"]["characteristics"]["homeless"] = 0.25
    d["true_model"]["categorical"]["homeless"] = {"false": 0.0, "true": -1.2}
    params = type(load_world_params()).model_validate(d)
    out = tmp_path_factory.mktemp("planted")
    write_world(add_oracle(generate_world("tiny", seed=5, params=params, events=False)), out, overwrite=True)
    return out


@pytest.fixture(scope="module")
def tables(planted_world):
    config = check_evaluation_config(CONFIG, "test")
    inputs = load_release_inputs(planted_world, "2018-07-01", "2020-03-31", "table")
    return compute_tables(
        inputs.tables, config, load_method(config.method), load_specs(config), read_oracle(planted_world)
    )


def test_dropping_a_strong_covariate_is_flagged_and_the_full_model_is_not(tables):
    s = tables.subgroup_calibration
    home = s[(s["subgroup"] == "homeless") & (s["level"] == "true") & s["model"].str.endswith("_all")]
    lean, full = home[home["candidate"] == "lean"], home[home["candidate"] == "full"]
    assert set(lean["program"]) == {"DMS", "ESS"} and set(full["program"]) == {"DMS", "ESS"}
    assert lean["flagged"].all() and (lean["oe_upper"] < 1).all()  # the lean model over-predicts the homeless
    assert not full["flagged"].any()
    assert ((full["oe_lower"] <= 1) & (full["oe_upper"] >= 1)).all()
    # and it costs out-of-fold accuracy over the evaluated models
    d = tables.cv_differences
    overall = d[(d["candidate"] == "lean") & (d["model"] == "all") & (d["metric"] == "log_loss")].iloc[0]
    assert overall["difference"] > 0


def test_baseline_against_itself_is_the_identity(tables):
    t = tables.star_transitions
    mine = t[t["candidate"] == "full"]
    assert len(mine) and (mine["baseline_stars"] == mine["candidate_stars"]).all()
    r = tables.rating_impact
    me = r[r["candidate"] == "full"]
    assert (me["stars_changed"] == 0).all() and (me["share_changed"] == 0).all()
    assert np.allclose(me["spearman_vs_baseline"].dropna(), 1.0)
    # a synthetic world: accuracy against the oracle is reported for every rated candidate
    assert r["oracle_spearman"].notna().any()
    # the lean model moves some stars
    assert r[r["candidate"] == "lean"]["stars_changed"].sum() > 0


def test_tables_are_in_a_fixed_order_and_complete(tables):
    m = tables.cv_metrics
    assert set(m["fold"]) == {"0", "1", "pooled"}
    assert set(m["model"]) == set(CONFIG["measures"])
    assert m[m["fold"] == "pooled"]["n"].gt(0).all()
    assert tables.fold_errors.empty
    cal = tables.oof_calibration
    assert (cal["observed_lower"] <= cal["observed_rate"]).all() and (
        cal["observed_rate"] <= cal["observed_upper"]
    ).all()
