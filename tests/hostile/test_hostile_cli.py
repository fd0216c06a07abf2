"""Every hostile input of the suite, run in-process through ``toolkit.cli.main`` (see hostile_harness.py for
what each case asserts, and README.md in this folder for how to add one)."""

from __future__ import annotations

import hostile_cases_des
import hostile_cases_later
import hostile_cases_runs
import hostile_cases_schemes
import pytest
from hostile_harness import Case, run_case

CASES: list[Case] = [
    *hostile_cases_des.CASES,
    *hostile_cases_schemes.CASES,
    *hostile_cases_runs.CASES,
    *hostile_cases_later.CASES,
]


def _param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_input(case: Case, ctx, hostile_runs, capsys, monkeypatch):
    run_case(case, ctx, capsys, monkeypatch)
