"""Publishing rules across three releases, new sites and contracts, and novations.

The expected statuses are written out from the seed (Additional Business Rules;
Treatment of new Contracts; New Sites; Site publishing arrangements) as docs/method.md
reads it, not computed.
"""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.errors import InputError
from toolkit.scoring import apply_novations, score_entities

from ._helpers import entity_rows, table, uniform


def release(r: int) -> pd.DataFrame:
    """Release r (1, 2, 3) of a small DMS world."""
    low = r > 1
    rows = []
    for i, ratio in enumerate([0.8, 0.95, 1.05, 1.2], start=1):
        rows += entity_rows("DMS", "contract", f"C{i}", "", uniform(40, ratio + 0.02 * r))
    rows += entity_rows("DMS", "contract", "C5", "", uniform(10 if low else 40, 1.3))  # oscillates down
    rows += entity_rows("DMS", "site", "S5", "C5", uniform(8, 1.3))  # never enough data
    rows += entity_rows("DMS", "site", "S1", "C1", uniform(10 if low else 30, 1.1))  # oscillates down
    months = {1: 6, 2: 10, 3: 13}[r]
    rows += entity_rows("DMS", "site", "SN", "C1", uniform(25, 1.0), months)  # new site
    rows += entity_rows("DMS", "contract", "CN", "", uniform(30, 1.1), months)  # new contract
    rows += entity_rows("DMS", "site", "SCN", "CN", uniform(30, 1.1), months)  # its site
    return table(rows)


@pytest.fixture(scope="module")
def releases(method):
    out, prev = [], None
    for r in (1, 2, 3):
        prev = score_entities(release(r), method, prev)
        out.append(prev.set_index("entity_id"))
    return out


EXPECTED = {  # entity: (status r1, r2, r3)
    "C1": ("rated", "rated", "rated"),
    "C5": ("rated", "carried_forward", "insufficient_data"),
    "S5": ("substituted", "substituted", "insufficient_data"),
    "S1": ("rated", "carried_forward", "substituted"),
    "SN": ("new_site", "rated", "rated"),  # a new site: no stars until 9 months, then its own rating
    "CN": ("new_contract", "new_contract", "rated"),
    "SCN": ("new_contract", "new_contract", "rated"),  # the site of a new contract reads as the contract
}
CALCULATED = {  # entity: calculated r1, r2, r3
    "C5": (True, False, False),
    "S1": (True, False, False),
    "S5": (False, False, False),
    "SN": (False, True, True),
    "CN": (False, True, True),
    "SCN": (False, True, True),
}


@pytest.mark.parametrize("entity", sorted(EXPECTED))
def test_statuses_over_three_releases(releases, entity):
    assert tuple(t.loc[entity, "status"] for t in releases) == EXPECTED[entity]


@pytest.mark.parametrize("entity", sorted(CALCULATED))
def test_calculated_over_three_releases(releases, entity):
    assert tuple(bool(t.loc[entity, "calculated"]) for t in releases) == CALCULATED[entity]


def test_carried_forward_publishes_the_previous_rating(releases):
    r1, r2, _ = releases
    for e in ("C5", "S1"):
        assert (r2.loc[e, "stars"], r2.loc[e, "star_percentage"]) == (r1.loc[e, "stars"], r1.loc[e, "star_percentage"])
        assert "carried forward from the previous release" in r2.loc[e, "audit"]
        assert pd.isna(r2.loc[e, "performance_score"])
    assert "second consecutive release" in releases[2].loc["C5", "audit"]


def test_substitution_shows_the_contracts_published_rating(releases):
    r1, r2, r3 = releases
    for t, site, contract in ((r1, "S5", "C5"), (r2, "S5", "C5"), (r3, "S1", "C1")):
        assert (t.loc[site, "stars"], t.loc[site, "star_percentage"]) == (
            t.loc[contract, "stars"],
            t.loc[contract, "star_percentage"],
        )
        assert f"shows contract {contract}'s" in t.loc[site, "audit"]
    assert "carried forward rating" in r2.loc["S5", "audit"]  # a carried-forward contract rating is published


def test_unpublished_entities_have_no_stars(releases):
    r1, r2, r3 = releases
    for t, e in ((r1, "CN"), (r2, "CN"), (r1, "SCN"), (r2, "SCN"), (r3, "C5"), (r3, "S5"), (r1, "SN")):
        assert pd.isna(t.loc[e, "stars"]) and pd.isna(t.loc[e, "star_percentage"])
    # A new contract from 9 months: calculated, not published (and it counts in the national scale).
    assert not pd.isna(r2.loc["CN", "calculated_stars"])
    assert "calculated, not published" in r2.loc["CN", "audit"]
    assert "no calculated rating" in r1.loc["CN", "audit"]


def test_new_contract_from_nine_months_counts_in_the_national_average(releases):
    r2 = releases[1]
    rated = r2[(r2["level"] == "contract") & r2["calculated"]]
    assert "CN" in rated.index
    assert r2["national_average"].iat[0] == pytest.approx(rated["performance_score"].mean(), abs=1e-14)


def test_first_release_without_previous_is_insufficient_not_carried(method):
    t = score_entities(release(2), method).set_index("entity_id")
    assert t.loc["C5", "status"] == "insufficient_data"
    assert t.loc["S1", "status"] == "substituted"


def novation_world():
    rows = []
    for i, ratio in enumerate([0.8, 0.95, 1.05, 1.2], start=1):
        rows += entity_rows("DMS", "contract", f"C{i}", "", uniform(40, ratio))
    old = uniform(30, 1.1)
    new = {m: v for m, v in uniform(6, 1.1).items() if m != "bonus_26"}
    rows += entity_rows("DMS", "contract", "OLD", "", old, 40)
    rows += entity_rows("DMS", "site", "OLD_S1", "OLD", uniform(30, 1.1), 40)
    rows += entity_rows("DMS", "contract", "NEW", "", new, 3)
    rows += entity_rows("DMS", "site", "NEW_S1", "NEW", uniform(6, 1.1), 3)
    return table(rows)


def test_novation_merges_old_contract_records(method):
    world = novation_world()
    merged = apply_novations(world, pd.DataFrame({"old_contract_id": ["OLD"], "new_contract_id": ["NEW"]}), method)
    assert not merged["entity_id"].isin(["OLD", "OLD_S1"]).any()
    new = merged[merged["entity_id"] == "NEW"].set_index("measure")
    assert new.loc["full_13", "n"] == 36 and new.loc["full_13", "actual"] == 9 + 2
    assert new.loc["bonus_26", "n"] == 30  # only the old contract had bonus rows
    assert new["months_operating"].eq(40).all()  # inherits the old contract's history
    out = score_entities(merged, method).set_index("entity_id")
    assert out.loc["NEW", "status"] == "rated"
    assert "inherits contract OLD's records" in out.loc["NEW", "audit"]
    assert "OLD_S1" in out.loc["NEW", "audit"]
    # the new contract's 3-month site is a new site: no stars until nine months, whatever its contract shows
    assert out.loc["NEW_S1", "status"] == "new_site" and pd.isna(out.loc["NEW_S1", "stars"])
    # ...and without novation the new contract is new and below minimum data.
    alone = score_entities(world, method).set_index("entity_id")
    assert alone.loc["NEW", "status"] == "new_contract"


@pytest.mark.parametrize(
    "old, new, match",
    [
        ("NOPE", "NEW", "old_contract_id is not a contract"),
        ("OLD", "NOPE", "new_contract_id is not a contract"),
        ("OLD", "OLD", "novated to itself"),
        ("OLD_S1", "NEW", "old_contract_id is not a contract"),
    ],
)
def test_bad_novations_are_errors(method, old, new, match):
    with pytest.raises(InputError, match=match):
        apply_novations(novation_world(), pd.DataFrame({"old_contract_id": [old], "new_contract_id": [new]}), method)


def test_novation_chains_are_errors(method):
    nov = pd.DataFrame({"old_contract_id": ["OLD", "NEW"], "new_contract_id": ["NEW", "C1"]})
    with pytest.raises(InputError, match="chains"):
        apply_novations(novation_world(), nov, method)


def _new_site_world(months: float, n: int) -> pd.DataFrame:
    """Four rated DMS contracts; contract C1 has a site S of ``months`` months with denominator ``n``."""
    rows = []
    for i, ratio in enumerate([0.8, 0.95, 1.05, 1.2], start=1):
        rows += entity_rows("DMS", "contract", f"C{i}", "", uniform(40, ratio))
    rows += entity_rows("DMS", "site", "S", "C1", uniform(n, 1.1), months)
    return table(rows)


@pytest.mark.parametrize(
    ("months", "n", "status"),
    [
        (8, 40, "new_site"),  # under nine months: no stars even with data and a rated contract
        (8.99, 40, "new_site"),
        (9, 40, "rated"),  # from nine months: its own rating
        (9, 10, "substituted"),  # from nine months below minimum data: the contract's rating
        (30, 10, "substituted"),
    ],
)
def test_new_site_boundary_at_nine_months(method, months, n, status):
    t = score_entities(_new_site_world(months, n), method).set_index("entity_id")
    assert t.loc["C1", "status"] == "rated"
    assert t.loc["S", "status"] == status
    if status == "new_site":
        assert pd.isna(t.loc["S", "stars"]) and pd.isna(t.loc["S", "star_percentage"])
        assert "new site" in t.loc["S", "audit"]
    if status == "substituted":
        assert t.loc["S", "stars"] == t.loc["C1", "stars"]


def test_the_earlier_reading_substituted_new_sites_until_twelve_months(method):
    """Both sides of the reading: the earlier one (published from 12 months, a new site substituted) is still
    expressible in config, and gives what it used to."""
    d = method.model_dump()
    d["new_entities"]["site"] = {"calculated_from_months": 9, "published_from_months": 12}
    d["publishing"]["substitute_site_statuses"] = ["new_site", "insufficient_data"]
    d["publishing"]["new_contract_sites"] = False
    earlier = type(method).model_validate(d)
    for months, status in ((8, "substituted"), (11, "substituted"), (12, "rated")):
        t = score_entities(_new_site_world(months, 40), earlier).set_index("entity_id")
        assert t.loc["S", "status"] == status
