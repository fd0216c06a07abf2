"""The examples in the scoring docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "config",
    "weights",
    "ratios",
    "standardise",
    "stars",
    "arrays",
    "rules",
    "audit",
    "novation",
    "table",
    "whatif",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"toolkit.scoring.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
