"""The synthetic world: structure, determinism, truth consistent with the records."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from toolkit.contracts import validate_dir
from toolkit.synth import generate_world, load_world_params, write_world


def _digest(d):
    return {
        p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_world(generate_world("tiny", seed=3), a)
    write_world(generate_world("tiny", seed=3), b)
    da, db = _digest(a), _digest(b)
    assert da == db
    assert "measure_records.parquet" in da and "truth/record_truth.parquet" in da
    c = tmp_path / "c"
    write_world(generate_world("tiny", seed=4), c)
    assert _digest(c)["measure_records.parquet"] != da["measure_records.parquet"]


def test_site_effect_sd_changes_only_effects():
    w1 = generate_world("tiny", seed=5, site_effect_sd=0.2)
    w2 = generate_world("tiny", seed=5, site_effect_sd=0.4)
    pd.testing.assert_frame_equal(w1.tables["participants"], w2.tables["participants"])
    e1, e2 = w1.truth["site_effects"]["effect"], w2.truth["site_effects"]["effect"]
    np.testing.assert_allclose(e2.to_numpy(), 2 * e1.to_numpy(), rtol=1e-12)
    # the average-site probabilities do not depend on the site effects
    k = ["participant_id", "site_id", "measure"]
    t1 = w1.truth["record_truth"].set_index(k)["p_average_site"]
    t2 = w2.truth["record_truth"].set_index(k)["p_average_site"]
    common = t1.index.intersection(t2.index)
    assert len(common) > 0.9 * len(t1)
    np.testing.assert_allclose(t1.loc[common].to_numpy(), t2.loc[common].to_numpy(), rtol=1e-12)


def test_round_trip_small(small_world_dir):
    typed, report = validate_dir(small_world_dir)
    assert report.ok, report.summary()
    rec = typed["measure_records"]
    assert 40_000 < len(rec) < 60_000
    assert set(rec["measure"].unique()) == {
        "full_13",
        "full_26",
        "pathway_26",
        "bonus_26",
        "full_52",
        "pathway_52",
        "ongoing_support",
    }
    assert set(rec.loc[rec["program"] == "DMS", "measure"]) == {
        "full_13",
        "full_26",
        "pathway_26",
        "bonus_26",
        "full_52",
        "pathway_52",
    }


def test_structure_like_the_published_release():
    w = generate_world("national", seed=1)
    c, s, o, r = (w.tables[k] for k in ("contracts", "sites", "organisations", "regions"))
    assert len(o) == 110 and len(r) == 111 and r["state"].nunique() == 8
    assert (c["program"] == "DMS").sum() == 890 and (c["program"] == "ESS").sum() == 990
    per_contract = s.groupby("contract_id").size()
    assert 3.2 < per_contract.mean() < 3.9 and per_contract.min() == 1 and per_contract.max() <= 15
    assert 3_400 < s["location_id"].nunique() < 4_200
    rec = w.tables["measure_records"]
    assert 900_000 < len(rec) < 1_100_000
    n13 = rec[rec["measure"] == "full_13"].groupby("site_id").size().reindex(s["site_id"]).fillna(0)
    assert (n13 < 5).mean() > 0.05  # a long tail of small sites
    assert 0.25 < (n13 < 20).mean() < 0.6
    # every ESA has contracts of both programs
    assert c.groupby("program")["esa_id"].nunique().min() == 111


def test_truth_is_consistent_with_records(small_world_dir):
    rec = pd.read_parquet(small_world_dir / "measure_records.parquet")
    truth = pd.read_parquet(small_world_dir / "truth" / "record_truth.parquet")
    assert len(rec) == len(truth)
    assert (rec["participant_id"].to_numpy() == truth["participant_id"].to_numpy()).all()
    assert (rec["measure"].to_numpy() == truth["measure"].to_numpy()).all()
    assert truth["p_true"].between(0, 1).all() and truth["p_average_site"].between(0, 1).all()
    # outcomes are draws from p_true: observed and expected agree per measure within sampling error
    g = rec.assign(p=truth["p_true"].to_numpy()).groupby(["program", "measure"])
    obs, exp, var = g["numerator"].sum(), g["p"].sum(), g["p"].apply(lambda p: (p * (1 - p)).sum())
    z = (obs - exp) / np.sqrt(var)
    assert (z.abs() < 4).all(), z
    # p_true differs from p_average_site exactly by the site effect on the log-odds scale (non-pathway-linked measures)
    eff = pd.read_parquet(small_world_dir / "truth" / "site_effects.parquet").set_index(["site_id", "measure"])[
        "effect"
    ]
    m = truth["measure"].isin(["full_13", "bonus_26", "ongoing_support"]).to_numpy()
    t = truth[m]

    def logit(p):
        return np.log(p / (1 - p))

    b = eff.reindex(pd.MultiIndex.from_frame(t[["site_id", "measure"]])).to_numpy()
    np.testing.assert_allclose(logit(t["p_true"].to_numpy()) - logit(t["p_average_site"].to_numpy()), b, atol=1e-9)


def test_outcome_rates_plausible(small_world_dir):
    rec = pd.read_parquet(small_world_dir / "measure_records.parquet")
    rates = rec.groupby(["program", "measure"])["numerator"].mean()
    assert 0.2 < rates["DMS", "full_13"] < 0.4 and 0.15 < rates["ESS", "full_13"] < 0.35
    assert rates["DMS", "full_52"] < rates["DMS", "full_26"] < rates["DMS", "full_13"]
    assert rates["ESS", "pathway_26"] < 0.1 and rates["ESS", "ongoing_support"] > 0.7


def test_site_effects_correlated_across_measures(small_world_dir):
    eff = pd.read_parquet(small_world_dir / "truth" / "site_effects.parquet")
    wide = eff.pivot(index="site_id", columns="measure", values="effect")
    corr = wide[["full_13", "full_26", "full_52"]].corr().to_numpy()
    params = load_world_params()
    rho = params.site_effects.cross_measure_correlation
    off = corr[np.triu_indices(3, 1)]
    assert np.all(np.abs(off - rho) < 0.15), off


def test_oracle_ratings_follow_true_effects():
    from toolkit.synth.world import add_oracle

    w = add_oracle(generate_world("small", seed=8))
    r = w.truth["oracle_ratings"]
    c = r[(r["level"] == "contract") & r["calculated"]]
    assert len(c) > 50 and set(c["calculated_stars"].dropna().unique()) == {1, 2, 3, 4, 5}
    # a contract's oracle score rises with the general performance factor of its sites (records-weighted)
    eff = w.truth["site_effects"]
    rec = w.tables["measure_records"]
    n = rec[rec["measure"] == "full_13"].groupby("site_id").size().rename("n")
    e = eff[eff["measure"] == "full_13"].set_index("site_id").join(n, how="inner")
    mean_eff = (e["general_factor"] * e["n"]).groupby(e["contract_id"]).sum() / e["n"].groupby(e["contract_id"]).sum()
    joined = c.set_index("entity_id")["performance_score"].to_frame().join(mean_eff.rename("effect"), how="inner")
    assert joined.corr(method="spearman").iloc[0, 1] > 0.7


def test_transfers_within_a_contract_change_only_the_transferred_participants_records():
    """Issue 16: the transfers within a contract come from a stream of their own; without them the
    world is the one before, and with them only the records of participants who transferred change."""
    import pytest

    from toolkit.errors import ConfigError

    params = load_world_params()
    part = dict(params.participants)
    part.pop("transfer_within_contract")
    before = generate_world("tiny", seed=1, params=params.model_copy(update={"participants": part}), events=False)
    after = generate_world("tiny", seed=1, events=False)
    for name in ("participants", "sites", "contracts", "organisations", "regions"):
        pd.testing.assert_frame_equal(before.tables[name], after.tables[name])
    a, b = before.tables["measure_records"], after.tables["measure_records"]
    moved = set(a.loc[a["transferred"], "participant_id"])
    assert set(b["participant_id"]) - set(a["participant_id"]) <= moved
    keep_a = a[~a["participant_id"].isin(moved)].reset_index(drop=True)
    keep_b = b[~b["participant_id"].isin(moved)].reset_index(drop=True)
    pd.testing.assert_frame_equal(keep_a, keep_b)
    assert len(b) > len(a)  # losing-site records, and longer durations at the sites they joined
    bad = dict(params.participants, transfer_within_contract={"share": 0.3, "losing_days": [30, 182]})
    with pytest.raises(ConfigError, match="losing_days"):
        generate_world("tiny", seed=1, params=params.model_copy(update={"participants": bad}), events=False)
