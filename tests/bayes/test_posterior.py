"""From site-effect draws to entity actual outcomes and to stars: alignment with the published scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.bayes.posterior import EntityRecords, score_draws
from toolkit.bayes.twostage import cell_data


@pytest.fixture(scope="module")
def comp(small_world_dir):
    from toolkit.contracts import load_tables
    from toolkit.release.compute import compute_release
    from toolkit.release.config import load_release_config

    config, _ = load_release_config("releases/demo.yaml")
    return compute_release(load_tables(small_world_dir), config)


@pytest.fixture(scope="module")
def method():
    from toolkit.scoring import load_method

    return load_method("des_2018")


def _long(arr, ids, measures, level):
    _, e, m = arr.shape
    return pd.DataFrame(
        {
            "level": level,
            "entity_id": np.repeat(np.asarray(ids), m),
            "measure": np.tile(measures, e),
            "value": arr[0].ravel(),
        }
    )


@pytest.mark.parametrize("program", ["DMS", "ESS"])
def test_zero_effects_give_the_expected_outcomes(comp, method, program):
    """With every site effect 0, A(d) = sum of the records' expected probabilities = the release's E,
    entity by entity and at every level (the de-duplication rule included)."""
    measures = list(method.program_method(program).measures)
    cd = cell_data(comp.frame, program, measures, ("site",), 2)
    recs = EntityRecords(comp.frame, cd)
    a = recs.actual_draws(np.zeros((2, len(cd.entities["site"]), len(measures))))
    em = comp.entity_measures[(comp.entity_measures["program"] == program) & (comp.entity_measures["n"] > 0)]
    got = pd.concat([_long(a[lv], recs.ids[lv], measures, lv) for lv in a])
    both = em.merge(got, on=["level", "entity_id", "measure"], how="left")
    assert both["value"].notna().all()
    np.testing.assert_allclose(both["value"], both["expected"], rtol=1e-9)
    np.testing.assert_array_equal(a["site"][0], a["site"][1])


@pytest.mark.parametrize("program", ["DMS", "ESS"])
def test_observed_draws_reproduce_the_published_ratings(comp, method, program):
    """Draws that all equal the observed outcomes are scored exactly as the published method scores them."""
    pm = method.program_method(program)
    em = comp.entity_measures[comp.entity_measures["program"] == program]
    actual, ids = {}, {}
    for lv in ("organisation", "contract", "site"):
        e = em[em["level"] == lv]
        ids[lv] = pd.Index(sorted(e["entity_id"].unique()))
        wide = e.pivot_table(index="entity_id", columns="measure", values="actual", aggfunc="sum")
        wide = wide.reindex(index=ids[lv], columns=list(pm.measures)).fillna(0).to_numpy()
        actual[lv] = np.repeat(wide[None], 3, axis=0)
    out = score_draws(comp.entity_measures, comp.ratings, method, program, actual, ids)
    r = comp.ratings[comp.ratings["program"] == program].reset_index(drop=True)
    calc = r["calculated"].to_numpy(bool)
    assert calc.sum() > 20
    np.testing.assert_allclose(out["bayes_star_percentage"][calc], r["calculated_star_percentage"][calc].astype(float))
    np.testing.assert_allclose(out["bayes_performance_score"][calc], r["performance_score"][calc])
    np.testing.assert_array_equal(out["bayes_stars"][calc], r["calculated_stars"][calc].astype(float))
    p = out[[f"p_star_{k}" for k in range(1, 6)]].to_numpy()[calc]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(p.argmax(axis=1) + 1, r["calculated_stars"][calc].astype(int))
    assert out.loc[~calc, "p_star_1"].isna().all()
