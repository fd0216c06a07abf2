"""The examples in the DEX modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "toolkit.schemes.dex.config",
    "toolkit.schemes.dex.score",
    "toolkit.schemes.dex.synth",
    "toolkit.schemes.shrinkage",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
