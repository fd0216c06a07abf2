"""The synthetic DEX world: valid against the contracts, reproducible, and as messy as real extracts."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.contracts import load_contracts, validate_tables
from toolkit.paths import DATA_CONTRACTS
from toolkit.schemes.dex.config import load_dex_config
from toolkit.schemes.dex.score import domain_pairs
from toolkit.schemes.dex.synth import generate_dex_world, load_dex_synth_params
from toolkit.schemes.dex.tables import dex_data_from_tables


@pytest.fixture(scope="module")
def world():
    params = load_dex_synth_params().model_copy(update={"organisations": 14})
    return generate_dex_world(5, params)


def test_same_seed_same_world(world):
    params = load_dex_synth_params().model_copy(update={"organisations": 14})
    again = generate_dex_world(5, params)
    for t, df in world.tables.items():
        pd.testing.assert_frame_equal(df, again.tables[t])
    other = generate_dex_world(6, params)
    assert not other.tables["score_assessments"].equals(world.tables["score_assessments"])


def test_valid_against_the_contracts_and_scheme_rules(world):
    _typed, report = validate_tables(world.tables, load_contracts(DATA_CONTRACTS / "dex"))
    assert report.ok, report.summary()
    dex_data_from_tables(world.tables, load_dex_config())  # scheme rules too


def test_realistic_mess(world):
    cfg = load_dex_config()
    data = dex_data_from_tables(world.tables, cfg)
    c = data.clients
    reasons = set(c["slk_invalid_reason"].dropna())
    assert {"mismatch", "placeholder_name"} <= reasons and len(reasons) >= 3
    assert 0.8 < c["slk_valid"].mean() < 0.99
    assert 0.5 < c["demographics_complete"].mean() < 0.97
    assert c["slk_shared_in_organisation"].any()
    keys = c.dropna(subset=["link_key"]).groupby("link_key")["organisation_id"].nunique()
    assert (keys > 1).any()  # one person at two organisations
    pairs = domain_pairs(data.assessments, cfg.score.order_by)
    assert pairs["complete"].any() and (~pairs["complete"]).any()  # complete and partial SCOREs
    ties = pairs.loc[pairs["complete"] & (pairs["first_date"] == pairs["last_date"])]
    assert len(ties) > 0  # same-day follow-ups
    assert set(pairs["direction"]) == {"partial", "positive", "neutral", "negative"}
    assert (data.assessments["score_type"] == "community").any()
    assert (data.exclusions["reason"].str.startswith("before the first reporting period")).any()
    assert world.tables["sessions"]["unidentified_clients"].sum() > 0
