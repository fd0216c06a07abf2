"""Issue 15 on tiny synthetic worlds edited into the failing cases: a ceased contract whose sites
have no close date (passed validation, broke the release), a novated contract whose successor
ceased (its records went to no contract and into no list), and the accounting of every record
(``accounting.csv``) closing on several seeds.

The tiny worlds are too small for the des_2018 terms (the fits separate), so the models here
have one term (``numerator ~ age``): the entity rules and the accounting do not depend on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.contracts import load_tables
from toolkit.expected.spec import load_model_set
from toolkit.release.compute import compute_release, model_metrics_table
from toolkit.release.config import load_release_config
from toolkit.synth import generate_world

KEY = ["participant_id", "period_of_service", "program", "measure", "site_id", "contract_id"]


@pytest.fixture(scope="module")
def specs():
    return {
        k: s.model_copy(update={"formula": "numerator ~ age", "compact_formula": ""})
        for k, s in load_model_set("des_2018").items()
    }


@pytest.fixture(scope="module")
def config():
    return load_release_config("releases/demo.yaml")[0]


def _write(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, pd.DataFrame]:
    """Write the tables and read them back through the data contracts (the case passes ``toolkit validate``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    return load_tables(folder)


def _contract(tables: dict[str, pd.DataFrame], cid: str, **values: object) -> None:
    c = tables["contracts"]
    for col, v in values.items():
        c.loc[c["contract_id"] == cid, col] = v


def _busiest(tables: dict[str, pd.DataFrame], program: str, skip: tuple[str, ...] = ()) -> str:
    rec = tables["measure_records"]
    active = set(tables["contracts"].loc[tables["contracts"]["status"] == "active", "contract_id"]) - set(skip)
    counts = rec[(rec["program"] == program) & rec["contract_id"].isin(active)]["contract_id"].value_counts()
    return str(counts.index[0])


def cease_with_open_sites(tables: dict[str, pd.DataFrame], program: str = "ESS", status: str = "ceased") -> str:
    """An active contract of ``program`` ceased (or handed back) in the window; its sites keep no close date."""
    cid = _busiest(tables, program)
    _contract(tables, cid, status=status, end_date=pd.Timestamp("2019-12-31"))
    tables["sites"].loc[tables["sites"]["contract_id"] == cid, "close_date"] = pd.NaT
    return cid


def novate_to_ceased(tables: dict[str, pd.DataFrame], program: str = "ESS", status: str = "ceased") -> tuple[str, str]:
    """Contract A of ``program`` novated to contract B, which then ceased (or handed back); both contracts'
    sites closed (so that only the novation is at stake)."""
    b = _busiest(tables, program)
    a = _busiest(tables, program, skip=(b,))
    _contract(tables, a, status="novated", novated_to=b, end_date=pd.Timestamp("2019-06-30"))
    _contract(tables, b, status=status, end_date=pd.Timestamp("2019-12-31"))
    sites = tables["sites"]
    sites.loc[sites["contract_id"] == a, "close_date"] = pd.Timestamp("2019-06-30")
    sites.loc[sites["contract_id"] == b, "close_date"] = pd.Timestamp("2019-12-31")
    return a, b


def _tiny(seed: int) -> dict[str, pd.DataFrame]:
    return {k: v.copy() for k, v in generate_world("tiny", seed=seed, events=False).tables.items()}


def _lines(acc: pd.DataFrame, program: str, stage: str, level: str = "") -> pd.Series:
    sel = acc[(acc["program"] == program) & (acc["stage"] == stage) & (acc["level"] == level)]
    return sel.set_index("description")["records"]


def test_ceased_contract_with_open_sites_is_released_without_them(tmp_path, config, specs):
    """Before issue 15 the release stopped with "entity_measures.parent_id: rule 'a site's contract is in
    the table'" although ``toolkit validate`` passed."""
    world = _tiny(5)
    cid = cease_with_open_sites(world)
    tables = _write(world, tmp_path / "w")
    sites = set(tables["sites"].loc[tables["sites"]["contract_id"] == cid, "site_id"])
    comp = compute_release(tables, config, specs=specs)
    assert not sites & set(comp.ratings["entity_id"]) and cid not in set(comp.ratings["entity_id"])
    n_records = int((tables["measure_records"]["contract_id"] == cid).sum())
    assert n_records > 0
    assert _lines(comp.accounting, "ESS", "excluded").filter(like="contract ceased").tolist() == [n_records]


def test_ceased_contract_with_open_sites_is_an_input_error_under_the_other_reading(tmp_path, config, specs):
    from toolkit.errors import InputError
    from toolkit.scoring import load_method

    world = _tiny(5)
    cid = cease_with_open_sites(world, status="handed_back")
    tables = _write(world, tmp_path / "w")
    method = load_method(config.method)
    strict = method.model_copy(
        update={"ended_contracts": method.ended_contracts.model_copy(update={"open_sites": "error"})}
    )
    with pytest.raises(
        InputError, match=rf"site\(s\) of a ceased or handed-back contract .*\(contract {cid}, handed_back\)"
    ):
        compute_release(tables, config, method=strict, specs=specs)


@pytest.mark.parametrize("status", ["ceased", "handed_back"])
def test_novated_contract_whose_successor_ended_has_its_records_excluded_with_a_reason(tmp_path, config, specs, status):
    """Before issue 15 the novated contract's records went to no contract and into no exclusion list
    (they still counted at the successor's organisation)."""
    world = _tiny(5)
    a, b = novate_to_ceased(world, status=status)
    tables = _write(world, tmp_path / "w")
    comp = compute_release(tables, config, specs=specs)
    rec = tables["measure_records"]
    ex = comp.exclusions
    novated = ex[ex["contract_id"] == a]
    assert len(novated) == int((rec["contract_id"] == a).sum()) > 0
    word = "ceased" if status == "ceased" else "handed back"
    assert novated["reason"].str.startswith(f"contract novated to a contract that {word}").all()
    assert a not in set(comp.frame["contract_id"]) and b not in set(comp.frame["rating_contract_id"])


@pytest.mark.parametrize("seed", [1, 3, 8, 12])
def test_every_record_ends_in_exactly_one_place(tmp_path, config, specs, seed):
    """Property over synthetic seeds, each edited at random into the issue's cases: the accounting closes
    (compute_release checks it), agrees with the exclusion list and the entity-measure table, and every
    input record is either used or excluded, once."""
    rng = np.random.default_rng(seed)
    world = _tiny(seed)
    program = str(rng.choice(["DMS", "ESS"]))
    novate_to_ceased(world, program, status=str(rng.choice(["ceased", "handed_back"])))
    cease_with_open_sites(
        world, "ESS" if program == "DMS" else "DMS", status=str(rng.choice(["ceased", "handed_back"]))
    )
    tables = _write(world, tmp_path / "w")
    comp = compute_release(tables, config, specs=specs)
    acc, rec = comp.accounting, tables["measure_records"]

    out = pd.concat([comp.frame[KEY], comp.exclusions[KEY]], ignore_index=True)
    assert out.sort_values(KEY).reset_index(drop=True).equals(rec[KEY].sort_values(KEY).reset_index(drop=True))
    assert _lines(acc, "all", "in").sum() == len(rec)
    assert _lines(acc, "all", "used").sum() == len(comp.frame)
    assert _lines(acc, "all", "excluded").to_dict() == comp.exclusions.groupby("reason").size().to_dict()
    for level in ("site", "contract", "organisation"):
        em = comp.entity_measures
        assert _lines(acc, "all", "counted", level).sum() == em.loc[em["level"] == level, "n"].sum()
    for prog in ("DMS", "ESS"):
        assert _lines(acc, prog, "in").sum() == int((rec["program"] == prog).sum())


def test_accounting_is_written_logged_and_reproduced(tmp_path, config, specs):
    from toolkit.release.outputs import OUTPUT_FILES, write_outputs
    from toolkit.release.reproduce import EXACT_TABLES, TABLE_KEYS

    assert "accounting.csv" in OUTPUT_FILES and "accounting.csv" in EXACT_TABLES and "accounting.csv" in TABLE_KEYS
    world = _tiny(5)
    novate_to_ceased(world)
    comp = compute_release(_write(world, tmp_path / "w"), config, specs=specs)
    out = tmp_path / "out"
    out.mkdir()
    write_outputs(out, comp, model_metrics_table(comp.fits))
    written = pd.read_csv(out / "accounting.csv", keep_default_na=False)
    assert written.equals(comp.accounting)
    listed = pd.read_csv(out / "exclusions.csv")
    assert listed["reason"].str.startswith("contract novated to a contract that ceased").sum() > 0
