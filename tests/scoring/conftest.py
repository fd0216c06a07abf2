"""Shared fixtures of the scoring tests: the methods and small entity-measure tables."""

from __future__ import annotations

import pytest

from toolkit.scoring import load_method


@pytest.fixture(scope="session")
def method():
    return load_method("des_2018")


@pytest.fixture(scope="session")
def dms(method):
    return method.program_method("DMS")


@pytest.fixture(scope="session")
def ess(method):
    return method.program_method("ESS")
