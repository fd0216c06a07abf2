"""score_entities on the golden national table: the worked examples end to end, and a stable table."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from toolkit.scoring import load_method, output_dtypes, score_entities

from ._helpers import GOLDEN


@pytest.fixture(scope="module")
def golden_input():
    return pd.read_csv(GOLDEN / "site_x_y.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def scored(golden_input, method):
    return score_entities(golden_input, method).set_index(["program", "level", "entity_id"], drop=False)


def test_site_x_reproduced_from_the_table(scored):
    x = scored.loc[("ESS", "site", "SX")]
    # Attachment B and Step 4: ratios 3.87, 2.78, 2.02, 0.92; scores 4.00, 3.00, 2.16, 1.97.
    assert [round(x[f"ratio_{g}"], 2) for g in ("g13", "g26", "g52", "gos")] == [3.87, 2.78, 2.02, 0.92]
    assert [round(x[f"score_{g}"], 2) for g in ("g13", "g26", "g52", "gos")] == [4.00, 3.00, 2.16, 1.97]
    # Steps 5 and 6: 2.84 (2.8355 unrounded) against a national average of 2.00: +42, 5 stars.
    assert round(x["performance_score"], 2) == 2.84
    assert x["performance_score"] == pytest.approx(2.8355, abs=5e-5)
    assert round(x["national_average"], 2) == 2.00
    assert (x["star_percentage"], x["stars"], x["status"]) == (42, 5, "rated")
    # A single-site contract gets the same rating at both levels.
    cx = scored.loc[("ESS", "contract", "CX")]
    assert (cx["star_percentage"], cx["stars"]) == (42, 5)


def test_site_y_weights_and_ratio_from_the_table(scored):
    y = scored.loc[("DMS", "site", "SY")]
    assert y["n_bonus_26"] == 0  # no row: n = 0
    assert y["weight_full_26"] == pytest.approx(0.39375, abs=1e-15)
    assert y["weight_pathway_26"] == pytest.approx(0.05625, abs=1e-15)
    assert y["weight_bonus_26"] == 0
    assert y["group_weight_g26"] == pytest.approx(0.45, abs=1e-15)
    assert round(y["ratio_g26"], 2) == 1.20
    assert [round(y["ratio_g13"], 2), round(y["ratio_g52"], 2)] == [3.67, 2.27]
    assert "bonus_26 n=0<5" in y["audit"] and "full_26 +0.04375" in y["audit"]
    assert pd.isna(y["n_ongoing_support"]) and np.isnan(y["weight_ongoing_support"])


def test_rules_visible_in_the_golden_table(scored):
    cy = scored.loc[("DMS", "contract", "CY")]
    assert cy["n_bonus_26"] == 3 and cy["weight_bonus_26"] == pytest.approx(0.03, abs=1e-15)  # Table 7, n = 3
    sy2 = scored.loc[("DMS", "site", "SY2")]  # below minimum data: the contract's rating
    assert sy2["status"] == "substituted" and not sy2["calculated"]
    assert (sy2["stars"], sy2["star_percentage"]) == (cy["stars"], cy["star_percentage"])
    assert pd.isna(sy2["performance_score"]) and pd.isna(sy2["calculated_stars"])
    assert "n(full_13)=12 < 20" in sy2["audit"]
    sy3 = scored.loc[("DMS", "site", "SY3")]  # a new site of 6 months: no stars, not its contract's
    assert sy3["status"] == "new_site" and not sy3["calculated"] and pd.isna(sy3["stars"])
    assert "new site: 6 months" in sy3["audit"]
    cd7 = scored.loc[("DMS", "contract", "CD7")]
    assert cd7["status"] == "new_contract" and cd7["calculated"]
    assert pd.isna(cd7["stars"]) and not pd.isna(cd7["calculated_stars"])
    ce9 = scored.loc[("ESS", "contract", "CE9")]
    assert ce9["status"] == "insufficient_data" and not ce9["meets_minimum_data"] and pd.isna(ce9["stars"])
    orgs = scored[scored["level"] == "organisation"]
    assert (orgs["status"] == "rated").all()
    # Organisations are measured against the contracts' national average.
    for p in ("DMS", "ESS"):
        assert orgs.loc[orgs["program"] == p, "national_average"].nunique() == 1
        assert (
            orgs.loc[orgs["program"] == p, "national_average"].iat[0]
            == scored.loc[(p, "contract", "CX" if p == "ESS" else "CY"), "national_average"]
        )


def test_national_average_is_the_mean_over_rated_contracts(scored):
    for p in ("DMS", "ESS"):
        c = scored[(scored["program"] == p) & (scored["level"] == "contract") & scored["calculated"]]
        assert c["national_average"].iat[0] == pytest.approx(c["performance_score"].mean(), abs=1e-14)
    # ...and the standardised scores of those contracts have mean 2 where nothing was clipped.
    ess = scored[(scored["program"] == "ESS") & (scored["level"] == "contract") & scored["calculated"]]
    assert ess["score_g26"].mean() == pytest.approx(2.0, abs=1e-12)
    assert ess["score_g26"].std(ddof=1) == pytest.approx(1.0, abs=1e-12)


def test_rows_sorted_and_dtypes_fixed(scored, method):
    t = scored.reset_index(drop=True)
    assert list(t.columns) == list(output_dtypes(method))
    for col, dtype in output_dtypes(method).items():
        assert t[col].dtype == dtype, col
    key = list(
        zip(t["program"], t["level"].map({"organisation": 0, "contract": 1, "site": 2}), t["entity_id"], strict=True)
    )
    assert key == sorted(key)
    assert not t.duplicated(["program", "level", "entity_id"]).any()
    assert (
        t["status"]
        .isin(["rated", "insufficient_data", "carried_forward", "substituted", "new_site", "new_contract"])
        .all()
    )


def test_csv_round_trip_keeps_values(scored, method):
    t = scored.reset_index(drop=True)
    back = pd.read_csv(io.StringIO(t.to_csv(index=False)))
    np.testing.assert_array_equal(back["performance_score"].to_numpy(), t["performance_score"].to_numpy(float))


def test_typed_input_gives_the_same_table(golden_input, scored, method):
    typed = golden_input.assign(
        n=golden_input["n"].astype(int),
        actual=golden_input["actual"].astype(int),
        expected=golden_input["expected"].astype(float),
        months_operating=pd.to_numeric(golden_input["months_operating"]),
    )
    pd.testing.assert_frame_equal(score_entities(typed, method), scored.reset_index(drop=True))


def test_interim_method_ignores_52_week_rows(golden_input):
    interim = load_method("des_2018_interim")
    t = score_entities(golden_input, interim).set_index(["program", "level", "entity_id"])
    x = t.loc[("ESS", "site", "SX")]
    assert np.isnan(x["ratio_g52"]) and np.isnan(x["weight_full_52"])
    assert x["n_full_52"] == 30  # accepted, shown, not scored
    assert x["group_weight_g13"] + x["group_weight_g26"] + x["group_weight_gos"] == pytest.approx(1.0)
    assert x["weight_full_13"] == pytest.approx(0.20 / 0.75)
    assert round(x["ratio_g26"], 2) == 2.78
