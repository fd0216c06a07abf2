"""``toolkit evaluate``: tracked like a release (real sqlite store in a temporary folder), bad input, CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataContractError, InputError
from toolkit.schemes.cohort.config import load_cohort_config
from toolkit.schemes.cohort.pipeline import LOGGED, check_cohort, run_evaluation
from toolkit.schemes.cohort.simulate import simulate_cohort

CFG = load_cohort_config()


@pytest.fixture(scope="module")
def synthetic_run(store):
    return run_evaluation(CFG, synthetic=48, seed=4, tracking_uri=store["uri"], out_root=store["out"], progress=False)


def test_synthetic_run_is_tracked_with_provenance(synthetic_run, store):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store["uri"])
    r = client.get_run(synthetic_run.run_id)
    assert r.info.status == "FINISHED" and client.get_experiment(r.info.experiment_id).name == "cohort-evaluation"
    for key in (
        "config_hash",
        "git_commit",
        "git_dirty",
        "seed",
        "versions.scipy",
        "input_sha256.synthetic_cohort.csv",
        "synthetic_n",
        "config.domains.wellbeing.threshold",
    ):
        assert key in r.data.params, key
    assert r.data.params["seed"] == "4" and r.data.params["synthetic_n"] == "48"
    assert "wellbeing.mean_improvement" in r.data.metrics
    logged = {a.path for a in client.list_artifacts(synthetic_run.run_id, "evaluate")}
    assert {f"evaluate/{n}" for n in LOGGED} <= logged
    assert "evaluate/synthetic_cohort.csv" not in logged and "evaluate/exclusions.csv" not in logged
    assert (synthetic_run.folder / "exclusions.csv").stat().st_mode & 0o777 == 0o600  # participant ids: owner only


def test_no_participant_row_is_tracked(synthetic_run, store):
    ids = re.compile(rb"P\d{3}")
    artifacts = [p for p in (store["dir"]).rglob("*") if p.is_file() and "artifacts" in p.parts]
    assert artifacts
    for p in artifacts + list(store["dir"].glob("mlflow.db*")):
        assert not ids.search(p.read_bytes()), p
    assert ids.search((synthetic_run.folder / "synthetic_cohort.csv").read_bytes())  # kept in the folder only


def test_synthetic_run_reports_the_truth_beside_the_estimates(synthetic_run):
    ev = synthetic_run.evaluation
    assert set(ev["domain"]) == {"wellbeing", "distress", "housing"}
    for col in ("true_mean_improvement", "true_share_improved", "covered_mean_95", "covered_share_90"):
        assert col in ev.columns
    assert (ev["n"] <= 48).all() and (ev["participants"] == 48).all()


def test_statement_says_what_the_cohort_can_and_cannot_show(synthetic_run):
    text = synthetic_run.statement
    assert "48 participants" in text
    assert "can reliably detect" in text and "standard deviations of the change" in text
    assert "cannot be attributed to the service" in text and "regression to the mean" in text
    assert "Comparing two halves of the cohort" in text


def test_file_input_gives_the_same_evaluation(synthetic_run, store, tmp_path):
    c = simulate_cohort(48, CFG, seed=4)
    path = tmp_path / "cohort.csv"
    c.to_csv(path, index=False)
    res = run_evaluation(CFG, data=path, tracking_uri=store["uri"], out_root=store["out"], progress=False)
    assert res.folder != synthetic_run.folder
    cols = [c for c in res.evaluation.columns if c in synthetic_run.evaluation.columns]
    pd.testing.assert_frame_equal(res.evaluation[cols], synthetic_run.evaluation[cols])


def _violations(df: pd.DataFrame) -> dict:
    with pytest.raises(DataContractError) as err:
        check_cohort(df, CFG)
    return {(v.table, v.column, v.rule): v.n_rows for v in err.value.violations}


def test_bad_cohort_tables():
    good = simulate_cohort(30, CFG, seed=1)
    check_cohort(good, CFG)
    bad = good.copy()
    bad.loc[0, "domain"] = "happiness"
    bad.loc[[1, 2], "pre"] = np.nan
    assert _violations(bad) == {("cohort_outcomes", "pre", "required"): 2}  # contract first
    bad = good.copy()
    bad.loc[[0, 5], "domain"] = "happiness"
    bad.loc[40, "post"] = 500.0  # a distress score of 500
    assert _violations(bad) == {
        ("cohort_outcomes", "domain", "known_domain"): 2,
        ("cohort_outcomes", "post", "domain_scale"): 1,
    }
    dup = pd.concat([good, good.iloc[[3]]])
    assert _violations(dup) == {("cohort_outcomes", "participant_id,domain", "primary_key"): 2}


def test_input_choice_errors(tmp_path):
    with pytest.raises(InputError):
        run_evaluation(CFG, progress=False)
    with pytest.raises(InputError):
        run_evaluation(CFG, data=tmp_path / "absent.csv", progress=False)


def test_cli(tmp_path, run_cli):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    r = run_cli("evaluate", "--synthetic", "30", "--seed", "9", "--tracking-uri", uri, "--out", tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    assert "With 30 participants" in r.stdout or "participants with both measures" in r.stdout
    bad = simulate_cohort(30, CFG, seed=1)
    bad.loc[[0, 1, 2], "domain"] = "happiness"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    r = run_cli("evaluate", "--data", tmp_path / "bad.csv", "--tracking-uri", uri, "--out", tmp_path / "runs")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "cohort_outcomes.domain: rule 'known_domain' broken by 3 rows" in r.stderr
    r = run_cli("evaluate", "--tracking-uri", uri)
    assert r.returncode == 2 and "one of the arguments --data --synthetic is required" in r.stderr


def test_synthetic_cohort_size_is_bounded(tmp_path, run_cli):
    """--synthetic 100000000000 was a MemoryError traceback; --synthetic -1 reached the simulation."""
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    for n, words in (("100000000000", "at most 100,000 participants"), ("-1", "at least 1"), ("0", "at least 1")):
        r = run_cli("evaluate", "--synthetic", n, "--tracking-uri", uri, "--out", tmp_path / "runs")
        assert r.returncode == 2 and "Traceback" not in r.stderr and words in r.stderr, r.stderr
    assert not (tmp_path / "store").exists() and not (tmp_path / "runs").exists()
