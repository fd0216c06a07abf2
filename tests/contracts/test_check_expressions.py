"""Row checks of a data contract are data: parsed to a whitelisted grammar, never run as code."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from toolkit.contracts import RowCheck, check_table, load_contract, load_contracts
from toolkit.contracts.checks import CheckExpressionError, evaluate_check, parse_check
from toolkit.contracts.validate import find_table_file, read_raw
from toolkit.errors import ConfigError
from toolkit.paths import DATA_CONTRACTS

HOSTILE = {
    "import": "__import__('os').system('touch {marker}')",
    # ran `touch` under DataFrame.eval(engine="python"): attributes and subscripts reach os.system
    "shell": "site_id.where(site_id == '', 'touch {marker}').head(1)"
    ".map(site_id.__class__.__init__.__globals__['sys'].modules['os'].system) == 0",
    "attribute": "close_date.__class__.__bases__",
    "subscript": "open_date[0] == open_date[0]",
    "lambda": "(lambda: open('{marker}', 'w'))()",
    "comprehension": "[open('{marker}', 'w') for _ in [1]]",
    "call": "open('{marker}', 'w') == 1",
    "getattr": "getattr(site_id, 'to_csv')('{marker}')",
    "method": "site_id.to_csv('{marker}')",
}
CONSTRUCT = {
    "import": "'system'",
    "shell": "a subscript",
    "attribute": "attribute access",
    "subscript": "a subscript",
    "lambda": "a lambda",
    "comprehension": "a comprehension",
    "call": "'open'",
    "getattr": "'getattr'",
    "method": "'to_csv'",
}


def _hostile_contracts(tmp_path: Path, expr: str) -> Path:
    d = tmp_path / "contracts"
    d.mkdir()
    for p in DATA_CONTRACTS.glob("*.yaml"):
        shutil.copy(p, d / p.name)
    raw = yaml.safe_load((d / "sites.yaml").read_text())
    raw["checks"][0]["expr"] = expr
    (d / "sites.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return d


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_check_is_refused_and_nothing_runs(kind, tiny_world_dir, tmp_path, run_cli):
    marker = tmp_path / "pwned"
    d = _hostile_contracts(tmp_path, HOSTILE[kind].format(marker=marker))
    with pytest.raises(ConfigError) as exc:
        load_contracts(d)
    msg = str(exc.value)
    assert "sites.yaml" in msg and "close_after_open" in msg and CONSTRUCT[kind] in msg
    r = run_cli("validate", tiny_world_dir, "--contracts", d)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "sites.yaml" in r.stderr and "close_after_open" in r.stderr and CONSTRUCT[kind] in r.stderr
    assert not marker.exists(), "the contract's expression ran"


def test_check_built_in_code_is_checked_again_when_evaluated(tmp_path):
    """A RowCheck made without the loader (e.g. by a caller) still goes through the grammar."""
    marker = tmp_path / "pwned"
    contract = load_contract(DATA_CONTRACTS / "sites.yaml")
    bad = RowCheck("evil", f"__import__('os').system('touch {marker}')", ("site_id",))
    contract = type(contract)(**{**contract.__dict__, "checks": (bad,)})
    df = pd.DataFrame({"site_id": ["S001"], "contract_id": ["C1"], "location_id": ["L1"], "open_date": ["2019-01-01"]})
    with pytest.raises(ConfigError, match=r"evil.*'system'"):
        check_table(df, contract)
    assert not marker.exists()


@pytest.mark.parametrize(
    "expr",
    ["a ** 2 > 1", "a // 2 == 0", "f'{a}' == 'x'", "a.values", "{1: 2}", "(x := 1)", "a if b else a", "zz > 1", ""],
)
def test_outside_the_grammar(expr):
    with pytest.raises(CheckExpressionError):
        parse_check(expr, ["a", "b"])


def test_grammar_keeps_pandas_eval_meaning():
    """Precedence and missing values as DataFrame.eval(parser='pandas') gave them."""
    df = pd.DataFrame(
        {
            "a": pd.array([1, 2, 3, None], dtype="Int64"),
            "b": [2.0, 2.0, 1.0, 5.0],
            "s": ["x", "y", None, "x"],
            "t": pd.array([True, False, None, True], dtype="boolean"),
        }
    )
    cases = [
        "a == 1 | b == 2",
        "t & (a > 1) | b < 2",
        "a < b < 3",
        "not t",
        "t and a > 1",
        "s in ['x']",
        "s not in ['x', 'y']",
        "a + b > 3",
        "-a < -1",
        "abs(a - b) <= 1",
        "~t | (s == 'x')",
        "b / 2 > 0.5",
        "s.isin(['y']) | s.isna()",
    ]
    for expr in cases:
        want = pd.Series(df.eval(expr, engine="python"))
        got = pd.Series(evaluate_check(expr, df))
        assert got.equals(want), expr
    with pytest.raises(CheckExpressionError, match="not a number"):
        evaluate_check("s * 3 == s", df)


def _shipped_checks_on(contracts_dir: Path, data_dir: Path) -> int:
    rng = np.random.default_rng(3)
    n = 0
    for name, c in load_contracts(contracts_dir).items():
        p = find_table_file(data_dir, name)
        if not c.checks or p is None:
            continue
        frame, _, _ = check_table(read_raw(p), c)
        holes = frame.copy()
        for col in holes.columns:
            holes.loc[rng.random(len(holes)) < 0.2, col] = None
        mixed = pd.DataFrame(
            {col: frame[col].sample(frac=1, random_state=i).reset_index(drop=True) for i, col in enumerate(frame)}
        )
        for fr in (frame, holes, mixed):
            for ch in c.checks:
                want = pd.Series(fr.eval(ch.expr, engine="python"), index=fr.index)  # the shipped text, trusted here
                assert pd.Series(evaluate_check(ch.expr, fr), index=fr.index).equals(want), (name, ch.name)
                n += 1
    return n


def test_shipped_checks_give_what_pandas_eval_gave(tiny_world_dir):
    n = _shipped_checks_on(DATA_CONTRACTS, tiny_world_dir) + _shipped_checks_on(
        DATA_CONTRACTS / "events", tiny_world_dir / "events"
    )
    assert n >= 3 * 16  # every shipped check of the DES tables and events, three ways


def test_every_shipped_check_parses():
    for d in [DATA_CONTRACTS, *sorted(p for p in DATA_CONTRACTS.iterdir() if p.is_dir())]:
        for c in load_contracts(d).values():
            for ch in c.checks:
                assert set(ch.uses) <= set(c.columns), (c.table, ch.name)
