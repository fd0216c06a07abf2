"""Counting distinct clients across providers (``slk_summary``, the SLK step's linkage).

The same person (same names, date of birth and sex, hence the same SLK-581) has a client
record at ORG1 and at ORG2: nationally (row ``ALL``) the person counts once, and the key is
one held at several organisations; each organisation counts its own record once (its row of
the SLK summary and the denominators of its measures). Records of one person twice at one
organisation share a key there (flagged for review) and count once nationally. A record
without a valid key cannot link: it counts as a person of its own, even when its (invalid,
placeholder) key equals another record's.

- ORG1: A1 Smith John (the shared person), A2 Thompson Mary, A3 and A4 O'Mara Kate (one person
  recorded twice).
- ORG2: B1 Smith John (the same SLK as A1), B2 and B3 with no names (key ``99999...``: invalid,
  identical to each other).
"""

from __future__ import annotations

import pandas as pd
import pytest
from dex_builder import DexBuilder

from toolkit.schemes.dex.config import load_dex_config
from toolkit.schemes.dex.measures import compliance_table, slk_summary
from toolkit.slk import build_slk

SMITH = {"family": "Smith", "given": "John", "birth_date": "1980-05-06", "sex": "male"}
O_MARA = {"family": "O'Mara", "given": "Kate", "birth_date": "1990-03-04", "sex": "female"}
NO_NAMES = {"family": None, "given": None, "birth_date": "1960-01-01", "sex": "male"}


def build() -> DexBuilder:
    b = DexBuilder().org("ORG1").org("ORG2")
    clients = {
        "ORG1": {
            "A1": SMITH,
            "A2": {"family": "Thompson", "given": "Mary", "birth_date": "1975-01-02", "sex": "female"},
            "A3": O_MARA,
            "A4": O_MARA,
        },
        "ORG2": {"B1": SMITH, "B2": NO_NAMES, "B3": NO_NAMES},
    }
    for org, people in clients.items():
        for cid, person in people.items():
            b.client(cid, org, **person).case(f"K{cid}", [cid], org=org)
            b.session(f"S{cid}", f"K{cid}", "2022-09-01")
    return b


@pytest.fixture(scope="module")
def data():
    return build().data()


@pytest.fixture(scope="module")
def summary(data):
    return slk_summary(data).set_index("organisation_id")


def test_the_fixture_is_what_it_says():
    assert build_slk("Smith", "John", "1980-05-06", "male") == "MIHOH060519801"
    assert build_slk(None, None, "1960-01-01", "male") == "99999010119601"


def test_one_person_at_two_organisations_counts_once_nationally(summary):
    total = summary.loc["ALL"]
    assert total["client_records"] == 7
    assert total["valid_keys"] == 5  # A1-A4, B1
    # distinct valid keys: Smith (A1 = B1), Thompson, O'Mara (A3 = A4) -> 3; plus B2 and B3 unlinked -> 5
    assert total["distinct_people"] == 5
    assert total["keys_at_several_organisations"] == 1  # Smith's key, at ORG1 and ORG2
    assert total["shared_key_records"] == 2  # A3 and A4 share a key within ORG1; A1/B1 do not


def test_each_organisation_counts_the_person_once(summary):
    org1, org2 = summary.loc["ORG1"], summary.loc["ORG2"]
    assert (org1["client_records"], org1["valid_keys"], org1["shared_key_records"]) == (4, 4, 2)
    assert (org2["client_records"], org2["valid_keys"], org2["shared_key_records"]) == (3, 1, 0)
    assert org2["invalid_placeholder_name"] == 2
    # the national figures are computed for ALL only
    assert pd.isna(org1["distinct_people"]) and pd.isna(org2["keys_at_several_organisations"])
    assert org1["client_records"] + org2["client_records"] == summary.loc["ALL", "client_records"]


def test_each_organisation_s_measures_count_the_shared_person(data):
    tab, _ = compliance_table(data, load_dex_config())
    tab = tab.set_index(["period", "organisation_id", "measure"])
    assert (tab.loc[("2022-H2", "ORG1", "valid_slk"), ["numerator", "denominator"]] == [4, 4]).all()
    assert (tab.loc[("2022-H2", "ORG2", "valid_slk"), ["numerator", "denominator"]] == [1, 3]).all()


def test_the_linkage_key_is_not_the_slk_and_is_not_kept(data):
    assert "link_key" not in data.tables["clients"].columns
    keys = data.clients.set_index("client_id")["link_key"]
    assert keys["A1"] == keys["B1"] and keys["A3"] == keys["A4"] and keys["A1"] != keys["A2"]
    assert keys[["B2", "B3"]].isna().all()  # invalid keys never link
    assert "MIHOH060519801" not in set(keys.dropna())
