"""What-if scoring (toolkit.scoring.whatif) against the full scoring it reuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.scoring._helpers import DMS_MEASURES, table
from toolkit.errors import InputError
from toolkit.scoring import score_entities_with_parameters
from toolkit.scoring.whatif import distances, nearest, program_states, whatif


@pytest.fixture(scope="module")
def world(method):
    """Twelve contracts, each with two sites, and three organisations of DMS; outcomes spread widely."""
    rng = np.random.default_rng(5)
    rows = []
    for c in range(12):
        for s in range(2):
            for m in DMS_MEASURES:
                n = int(rng.integers(25, 90))
                e = float(rng.uniform(0.2, 0.5) * n)
                a = int(np.clip(round(e * rng.uniform(0.5, 1.6)), 0, n))
                rows.append(("DMS", "site", f"S{c}_{s}", f"C{c}", m, n, a, e, np.nan))
    em = table(rows)
    sites = em.copy()
    contracts = sites.groupby(["parent_id", "measure"], as_index=False)[["n", "actual", "expected"]].sum()
    contracts = contracts.rename(columns={"parent_id": "entity_id"}).assign(
        program="DMS", level="contract", parent_id=lambda d: "O" + (d["entity_id"].str[1:].astype(int) % 3).astype(str)
    )
    orgs = contracts.groupby(["parent_id", "measure"], as_index=False)[["n", "actual", "expected"]].sum()
    orgs = orgs.rename(columns={"parent_id": "entity_id"}).assign(program="DMS", level="organisation", parent_id="")
    em = pd.concat([sites, contracts, orgs], ignore_index=True)[sites.columns]
    em["months_operating"] = np.nan
    ratings, params = score_entities_with_parameters(em, method)
    return {"em": em, "ratings": ratings, "params": params, "state": program_states(em, method, params)["DMS"]}


def test_no_change_reproduces_the_release_exactly(world):
    st = world["state"]
    s, p, stars = st.score()
    keys = list(zip(st.entities["level"], st.entities["entity_id"], strict=True))
    r = world["ratings"].set_index(["level", "entity_id"]).loc[keys]
    calc = r["calculated"].to_numpy()
    assert calc.sum() > 30
    assert np.array_equal(s[calc], r["performance_score"].to_numpy(float)[calc])
    assert np.array_equal(p[calc], r["calculated_star_percentage"].to_numpy(float)[calc])
    assert np.array_equal(stars[calc], r["calculated_stars"].to_numpy(float)[calc])


def _rescored(world, method, level, eid, measure, add):
    em = world["em"].copy()
    hit = (em["level"] == level) & (em["entity_id"] == eid) & (em["measure"] == measure)
    em.loc[hit, "actual"] += add
    ratings, params = score_entities_with_parameters(em, method)
    return ratings.set_index(["level", "entity_id"]).loc[(level, eid)], params


@pytest.mark.parametrize("level", ["site", "organisation"])
def test_agrees_exactly_with_a_full_rescoring(world, method, level):
    """Sites and organisations are outside the standardisation population: a full re-scoring keeps the
    national parameters, and must give the what-if's numbers bit for bit."""
    st = world["state"]
    ids = st.entities.loc[st.entities["level"] == level, "entity_id"].tolist()[:4]
    for eid in ids:
        for measure, add in (("full_13", 3), ("pathway_52", -2), ("full_26", 7)):
            w = whatif(st, level, eid, measure, add)
            row, params = _rescored(world, method, level, eid, measure, add)
            pd.testing.assert_frame_equal(params, world["params"])
            assert w.performance_score == float(row["performance_score"])
            assert w.star_percentage == float(row["calculated_star_percentage"])
            assert w.stars == int(row["calculated_stars"])


def test_distance_is_minimal(world, method):
    st = world["state"]
    near = nearest(distances(st))
    assert set(near["direction"]) == {"up", "down"}
    checked = 0
    for r in near.itertuples():
        k = int(r.outcomes)
        sign = 1 if r.direction == "up" else -1
        w = whatif(st, r.level, r.entity_id, r.measure, sign * k)
        assert w.stars != w.stars_before and w.stars == r.stars_then
        if k > 1:
            assert whatif(st, r.level, r.entity_id, r.measure, sign * (k - 1)).stars == w.stars_before
        # no other measure needs fewer
        for m in st.program.measures:
            i, j = st.row(r.level, r.entity_id), st.measure(m)
            room = st.n[i, j] - st.actual[i, j] if sign > 0 else st.actual[i, j]
            if k - 1 >= 1 and room >= k - 1:
                assert whatif(st, r.level, r.entity_id, m, sign * (k - 1)).stars == w.stars_before
        if r.level == "site":  # and a full re-scoring agrees
            row, _ = _rescored(world, method, r.level, r.entity_id, r.measure, sign * k)
            assert int(row["calculated_stars"]) == w.stars
        checked += 1
    assert checked > 20


def test_bad_requests_are_named(world):
    st = world["state"]
    with pytest.raises(InputError, match="no site 'nope'"):
        whatif(st, "site", "nope", "full_13", 1)
    with pytest.raises(InputError, match="does not score measure"):
        whatif(st, "site", "S0_0", "made_up", 1)
    with pytest.raises(InputError, match="outside 0 to"):
        whatif(st, "site", "S0_0", "full_13", 10_000)
