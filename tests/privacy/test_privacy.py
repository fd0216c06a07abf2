"""Keyed pseudonyms, complementary suppression against an independent attacker, output scans."""

from __future__ import annotations

import hashlib
import hmac
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from toolkit.errors import ConfigError
from toolkit.privacy import (
    Relation,
    Secret,
    TableRule,
    keyed_hash,
    protect,
    scan_outputs,
)

KEY = "correct horse battery staple 42"


def test_secret_comes_from_a_named_environment_variable(monkeypatch):
    monkeypatch.delenv("TK_TEST_SECRET", raising=False)
    with pytest.raises(ConfigError, match=r"environment variable named by --secret-env is not set") as ei:
        Secret.from_env("TK_TEST_SECRET")
    assert "TK_TEST_SECRET" not in str(ei.value)  # it might have been the secret itself
    monkeypatch.setenv("TK_TEST_SECRET", "short")
    with pytest.raises(ConfigError, match="shorter than 16") as ei:
        Secret.from_env("TK_TEST_SECRET")
    assert "short" not in str(ei.value).replace("shorter", "")
    with pytest.raises(ConfigError, match="NAME of an environment variable"):
        Secret.from_env("not a name; " + KEY)
    monkeypatch.setenv("TK_TEST_SECRET", KEY)
    s = Secret.from_env("TK_TEST_SECRET")
    assert KEY not in repr(s) and KEY not in str(s) and "TK_TEST_SECRET" in repr(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_keyed_hash_is_hmac_sha256_with_domain_separation(monkeypatch):
    monkeypatch.setenv("TK_TEST_SECRET", KEY)
    s = Secret.from_env("TK_TEST_SECRET")
    want = hmac.new(KEY.encode(), b"client\x1fJane Doe|1990-01-02", hashlib.sha256).hexdigest()
    assert keyed_hash(s, "client", ["Jane Doe|1990-01-02"]) == [want]
    assert keyed_hash(s, "enrolment", ["Jane Doe|1990-01-02"]) != [want]
    other = Secret(b"another key of enough length", "test")
    assert keyed_hash(other, "client", ["Jane Doe|1990-01-02"]) != [want]
    assert keyed_hash(s, "client", [None, float("nan")]) == [None, None]


# --------------------------------------------------------------------------- an independent attacker


def grid_relations(n_rows: int, n_cols: int) -> list[Relation]:
    """An n_rows x n_cols table of counts with row totals ("*" column), column totals ("*" row), grand total."""
    rows, cols = [*range(n_rows), "*"], [*range(n_cols), "*"]
    rel = [Relation((r, "*"), tuple((r, c) for c in range(n_cols))) for r in rows]
    rel += [Relation(("*", c), tuple((r, c) for r in range(n_rows))) for c in cols[:-1]]
    return rel


def grid_cells(table: np.ndarray) -> pd.Series:
    n_rows, n_cols = table.shape
    cells = {(r, c): int(table[r, c]) for r in range(n_rows) for c in range(n_cols)}
    cells |= {(r, "*"): int(table[r].sum()) for r in range(n_rows)}
    cells |= {("*", c): int(table[:, c].sum()) for c in range(n_cols)}
    cells[("*", "*")] = int(table.sum())
    return pd.Series(cells)


def recover(published: dict, hidden: list, relations: list[Relation]) -> dict:
    """Exact integer range of every hidden cell given the published ones (written apart from the library)."""
    idx = {h: i for i, h in enumerate(hidden)}
    a, b = [], []
    for rel in relations:
        row, rhs = np.zeros(len(hidden)), 0.0
        for cell, sign in [(rel.total, -1)] + [(p, 1) for p in rel.parts]:
            if cell in idx:
                row[idx[cell]] += sign
            else:
                rhs -= sign * published[cell]
        if row.any():
            a.append(row)
            b.append(rhs)
    out = {}
    for h in hidden:
        ends = []
        for sign in (1, -1):
            c = np.zeros(len(hidden))
            c[idx[h]] = sign
            cons = [LinearConstraint(np.array(a), b, b)] if a else []
            r = milp(c, constraints=cons, integrality=np.ones(len(hidden)), bounds=Bounds(0, np.inf))
            ends.append(np.inf if sign < 0 and r.status in (3, 4) else r.x[idx[h]])
        out[h] = tuple(ends)
    return out


def assert_protected(cells: pd.Series, relations: list[Relation], threshold: int):
    p = protect(cells, relations, threshold)
    hidden = list(cells.index[p.suppressed])
    published = {c: v for c, v in cells.items() if not p.suppressed[c]}
    assert all(not (0 < v < threshold) for v in published.values())  # no small published count
    ranges = recover(published, hidden, relations)
    for c in hidden:
        lo, hi = ranges[c]
        assert lo <= cells[c] <= hi
        if 0 < cells[c] < threshold:
            assert hi - lo >= 1, f"cell {c} = {cells[c]} recovered (range {lo}..{hi})"
    return p


def test_two_by_two_small_cell_needs_three_more():
    cells = grid_cells(np.array([[3, 10], [12, 20]]))
    p = assert_protected(cells, grid_relations(2, 2), 5)
    assert p.primary.sum() == 1 and p.complementary.sum() == 3
    assert not p.suppressed[[("*", "*"), (0, "*"), ("*", 0)]].any()  # totals stay published


def test_subtraction_alone_would_recover_a_primary_only_table():
    cells = grid_cells(np.array([[3, 10], [12, 20]]))
    published = {c: v for c, v in cells.items() if c != (0, 0)}
    assert recover(published, [(0, 0)], grid_relations(2, 2))[(0, 0)] == (3, 3)


def test_a_bridge_between_two_protected_blocks_is_caught_by_the_attacker():
    # rows 0-1 and rows 2-3 each hold a 2x2 block of suppressed cells; a single link between them
    t = np.array([[2, 7, 30, 30], [8, 3, 30, 30], [30, 30, 2, 9], [30, 30, 6, 1]])
    assert_protected(grid_cells(t), grid_relations(4, 4), 5)


def test_hierarchy_and_parts():
    # offering total = sum of its services; ended = completed + not_completed (implied, unpublished)
    cells = pd.Series(
        {
            ("s1", "ended"): 12,
            ("s1", "completed"): 9,
            ("s1", "not"): 3,
            ("s2", "ended"): 30,
            ("s2", "completed"): 28,
            ("s2", "not"): 2,
            ("o", "ended"): 42,
            ("o", "completed"): 37,
            ("o", "not"): 5,
        }
    )
    rel = [Relation((s, "ended"), ((s, "completed"), (s, "not"))) for s in ("s1", "s2", "o")]
    rel += [Relation(("o", m), (("s1", m), ("s2", m))) for m in ("ended", "completed", "not")]
    published = pd.Series({c: c[1] != "not" for c in cells.index})
    p = protect(cells, rel, 5, published=published)
    assert p.sensitive[("s1", "not")] and p.sensitive[("s2", "not")] and not p.primary.any()
    shown = {c: v for c, v in cells.items() if published[c] and not p.suppressed[c]}
    unknown = [c for c in cells.index if c not in shown]
    ranges = recover(shown, unknown, rel)
    assert ranges[("s1", "not")][1] > ranges[("s1", "not")][0]
    assert ranges[("s2", "not")][1] > ranges[("s2", "not")][0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(2, 4).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(st.integers(0, 25), min_size=r * c, max_size=r * c).map(
                lambda v: np.array(v).reshape(r, c)
            )
        )
    )
)
def test_no_small_cell_of_any_table_can_be_recovered(table):
    assert_protected(grid_cells(table), grid_relations(*table.shape), 5)


# --------------------------------------------------------------------------- scanning


def test_scan_finds_identifiers_small_cells_and_leaking_rates(tmp_path):
    rule = {"t.csv": TableRule(counts=("n", "k"), rates={"rate": ("k", "n")})}
    (tmp_path / "t.csv").write_text("unit,n,k,rate\nA,12,s,\nB,30,10,0.33\n")
    assert scan_outputs(tmp_path, rule) == []
    (tmp_path / "t.csv").write_text("unit,n,k,rate\nA,12,3,0.25\nB,30,s,0.33\n")
    found = scan_outputs(tmp_path, rule, forbidden_text=["Aroha"], forbidden_tokens={"abc123"})
    assert found == [
        "t.csv.k: 1 unsuppressed count(s) below 5",
        "t.csv.rate: 1 rate(s) shown with a suppressed numerator or denominator",
    ]
    (tmp_path / "notes.md").write_text("client Aroha, key abc123 and abc1234")
    (tmp_path / "other.csv").write_text("a\n1\n")
    found = scan_outputs(tmp_path, rule, forbidden_text=["Aroha"], forbidden_tokens={"abc123"}, skip=["t.csv"])
    assert found == [
        "notes.md: contains forbidden text #1",
        "notes.md: contains 1 pseudonym(s)",
        "other.csv: a CSV with no disclosure rule in the manifest",
    ]
