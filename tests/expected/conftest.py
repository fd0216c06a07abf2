"""Fixtures for the expected-performance tests."""

from __future__ import annotations

import pytest
from expected_data import FORMULA, make_frame


@pytest.fixture(scope="session")
def frame():
    return make_frame(6000, seed=42)


@pytest.fixture(scope="session")
def fitted(frame):
    from toolkit.expected import fit_expected

    return fit_expected(frame, FORMULA)
