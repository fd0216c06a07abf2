"""The examples in the cohort modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "toolkit.schemes.cohort.config",
    "toolkit.schemes.cohort.power",
    "toolkit.schemes.cohort.evaluate",
    "toolkit.schemes.cohort.simulate",
    "toolkit.schemes.cohort.coverage",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
