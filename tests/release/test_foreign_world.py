"""The whole release on a world the toolkit did not write (``tests/fixtures/foreign_world.py``).

The world has its own covariate distributions and outcome model, three newer contracts and some young
sites, too few ESAs for the labour-market covariates (aliased columns), no Ongoing Support records in ESS
(a group with no data nationally), CSV with a byte-order mark and Parquet with ``large_string`` columns
and microsecond timestamps. The release must pass and its ratings must follow the true site effects.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import spearmanr

from tests.fixtures.foreign_world import write_foreign_world
from toolkit.release.config import load_release_config
from toolkit.release.pipeline import run_release


@pytest.fixture(scope="module")
def foreign(tmp_path_factory, store):
    world = tmp_path_factory.mktemp("foreign_world")
    effects = write_foreign_world(world, seed=7)
    config, path = load_release_config("demo")
    res = run_release(config, world, config_path=path, tracking_uri=store["uri"], out_root=store["out"], progress=False)
    return res, effects


def test_the_release_passes_on_a_foreign_world(foreign):
    res, _ = foreign
    assert res.status == "passed", res.failed_checks
    acc = pd.read_csv(res.folder / "accounting.csv")
    total = acc[acc["program"] == "all"]
    records_in = int(total.loc[total["stage"] == "in", "records"].sum())
    used = int(total.loc[total["stage"] == "used", "records"].sum())
    excluded = int(total.loc[total["stage"] == "excluded", "records"].sum())
    assert records_in == used + excluded > 0


def test_aliased_columns_and_a_group_without_data_are_handled_and_said(foreign):
    res, _ = foreign
    report = (res.folder / "report.md").read_text()
    assert "## Aliased columns" in report and "labour_market_size" in report
    assert "Group gos of ESS has no data nationally" in report
    std = pd.read_csv(res.folder / "standardisation.csv").set_index(["program", "group"])
    assert pd.isna(std.loc[("ESS", "gos"), "mu"]) and std.loc[("ESS", "g13"), "sd"] > 0
    ess = res.ratings[(res.ratings["program"] == "ESS") & (res.ratings["level"] == "contract")]
    assert (ess["status"] == "rated").all()


def test_ratings_follow_the_true_site_effects(foreign):
    """Measured on this world: Spearman 0.85 for the 73 rated sites, 0.72 for the 24 contracts."""
    res, effects = foreign
    r = res.ratings
    sites = r[(r["level"] == "site") & (r["status"] == "rated")]
    rho_sites = spearmanr(sites["star_percentage"], sites["entity_id"].map(effects)).statistic
    contracts = r[(r["level"] == "contract") & (r["status"] == "rated")]
    contract_effect = effects.groupby(effects.index.str.split("-").str[0]).mean()
    rho_contracts = spearmanr(contracts["star_percentage"], contracts["entity_id"].map(contract_effect)).statistic
    assert len(sites) >= 60 and rho_sites > 0.75
    assert len(contracts) == 24 and rho_contracts > 0.55


def test_young_sites_are_new_sites(foreign):
    res, _ = foreign
    r = res.ratings
    young = r[(r["level"] == "site") & r["entity_id"].str.endswith("-S2")]
    assert "new_site" in set(young["status"]) and young.loc[young["status"] == "new_site", "stars"].isna().all()


def test_the_world_is_not_made_by_toolkit_synth():
    text = Path(__file__).resolve().parents[1].joinpath("fixtures", "foreign_world.py").read_text()
    assert "from toolkit" not in text and "import toolkit" not in text
