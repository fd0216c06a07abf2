"""scikit-learn's estimator checks, for the toolkit's own model classes.

Every class with an instance ``fit`` method is checked the same way, on tiny data:

- ``__init__`` is keyword-only and only stores its arguments, under their own names, unchanged;
- ``fit`` returns ``self``; what it learns is in public attributes ending with ``_`` (none before fit), and it
  leaves the constructor's arguments as they were;
- using a fitted-only method before ``fit`` raises :class:`~toolkit.errors.NotFittedError` naming the class
  and the method;
- fitting twice on the same data gives identical learned attributes (wall-clock timings aside);
- where the model predicts rows, predictions on a subset are that subset of the predictions.

:func:`test_every_model_class_is_checked` finds the classes (by reading the source: importing every module
would cost seconds), so a new model class fails here until it is added to ``CASES``.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import NotFittedError

TOOLKIT = Path(__file__).resolve().parent.parent / "toolkit"


@dataclass
class Case:
    """How to check one model class."""

    cls: Callable[..., Any]
    params: dict[str, Any]  # constructor arguments
    data: Callable[[], pd.DataFrame]  # tiny training data
    fitted_only: dict[str, Callable[[Any, pd.DataFrame], Any]]  # method name -> a call that needs a fitted model
    unfitted_ok: dict[str, Callable[[Any, pd.DataFrame], Any]] = field(default_factory=dict)  # usable before fit
    predict: Callable[[Any, pd.DataFrame], np.ndarray] | None = None  # one value per row, if the model has one
    timings: tuple[str, ...] = ()  # wall-clock fields of learned attributes (not compared)


def _records(n: int = 240, groups: int = 6, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(16, 64, n),
            "x": rng.normal(size=n),
            "region": rng.choice(["north", "south", "west"], n),
            "g": rng.integers(0, groups, n).astype(str),
        }
    )
    u = rng.normal(0, 0.5, groups)
    eta = -0.4 + 0.02 * (df["age"] - 40) + 0.3 * df["x"] + u[df["g"].astype(int)]
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return df


def _expected_case() -> Case:
    from toolkit.expected import ExpectedModel

    return Case(
        cls=ExpectedModel,
        params={"formula": "y ~ bs(age, df=4) + x + C(region)", "out_of_range": "clip", "max_iter": 40},
        data=_records,
        fitted_only={
            "predict": lambda m, d: m.predict(d),
            "predict_linear": lambda m, d: m.predict_linear(d),
            "design_matrix": lambda m, d: m.design_matrix(d),
            "summary": lambda m, d: m.summary(),
            "summary_text": lambda m, d: m.summary_text(),
            "to_dict": lambda m, d: m.to_dict(),
            "to_json": lambda m, d: m.to_json(),
        },
        predict=lambda m, d: m.predict(d),
    )


def _hierarchical_case() -> Case:
    from toolkit.bayes import HierarchicalModel
    from toolkit.bayes.config import load_bayes_config

    cfg = load_bayes_config()
    fast = cfg.sampler.model_copy(update={"draws": 100, "tune": 100})  # a fit takes about 2 s (8 s with imports)
    return Case(
        cls=HierarchicalModel,
        params={"formula": "y ~ x", "group": ["region", "g"], "random_seed": 3, "sampler": fast},
        data=_records,
        fitted_only={"effect_draws": lambda m, d: m.effect_draws()},
        unfitted_ok={"build_model": lambda m, d: m.build_model(d)},
        timings=("compile_seconds", "sample_seconds"),
    )


CASES = {"ExpectedModel": _expected_case, "HierarchicalModel": _hierarchical_case}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request) -> Case:
    return CASES[request.param]()


_FITTED: dict[str, Any] = {}


def _fitted(case: Case) -> Any:
    """A fitted model of the case (one fit per class and test session: the Bayesian fit takes seconds)."""
    name = case.cls.__name__
    if name not in _FITTED:
        _FITTED[name] = case.cls(**case.params).fit(case.data())
    return _FITTED[name]


def _params(case: Case) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(case.cls.__init__).parameters.values() if p.name != "self"]


# --------------------------------------------------------------------------- construction


def test_init_is_keyword_only(case):
    params = _params(case)
    assert params and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), params
    with pytest.raises(TypeError):
        case.cls(*case.params.values())


def test_init_only_stores_its_arguments(case):
    model = case.cls(**case.params)
    names = [p.name for p in _params(case)]
    assert set(vars(model)) == set(names), "__init__ stores exactly its arguments, nothing learned"
    for p in _params(case):
        want = case.params.get(p.name, p.default)
        assert getattr(model, p.name) is want, f"{p.name} is stored unchanged (the same object)"


def test_methods_usable_before_fit_learn_nothing(case):
    model = case.cls(**case.params)
    before = dict(vars(model))
    for name, call in case.unfitted_ok.items():
        call(model, case.data())
        assert vars(model) == before, f"{name} stored attributes; only fit may"


# --------------------------------------------------------------------------- fit


def test_fit_returns_self_and_learns_only_trailing_underscore_attributes(case):
    model = case.cls(**case.params)
    before = set(vars(model))
    assert model.fit(case.data()) is model
    learned = {k for k in set(vars(model)) - before if not k.startswith("_")}
    assert learned, "fit learns public attributes"
    assert all(k.endswith("_") for k in learned), sorted(k for k in learned if not k.endswith("_"))
    for k, v in case.params.items():
        assert getattr(model, k) is v, f"fit changed the argument {k}"
    _FITTED.setdefault(case.cls.__name__, model)


def test_unfitted_use_raises_not_fitted_error(case):
    data = case.data()
    model = case.cls(**case.params)
    for method, call in case.fitted_only.items():
        with pytest.raises(NotFittedError) as err:
            call(model, data)
        assert case.cls.__name__ in str(err.value) and f".{method}" in str(err.value), str(err.value)
        assert isinstance(err.value, ValueError) and isinstance(err.value, AttributeError)
    fitted = _fitted(case)
    for call in case.fitted_only.values():
        call(fitted, data)  # no error once fitted


def test_fitting_twice_gives_identical_learned_attributes(case):
    model = _fitted(case)
    first = _learned(model)
    model.fit(case.data())
    second = _learned(model)
    assert first.keys() == second.keys()
    for k in first:
        _assert_same(first[k], second[k], k, case.timings)


# --------------------------------------------------------------------------- prediction


def test_predictions_on_a_subset_are_the_subset_of_predictions(case):
    if case.predict is None:
        pytest.skip(f"{case.cls.__name__} does not predict rows")
    model, data = _fitted(case), case.data()
    rows = np.random.default_rng(5).choice(len(data), size=len(data) // 3, replace=False)
    whole = case.predict(model, data)
    part = case.predict(model, data.iloc[rows])
    np.testing.assert_array_equal(part, whole[rows])
    np.testing.assert_array_equal(case.predict(model, data.iloc[[rows[0]]]), whole[rows[:1]])


# --------------------------------------------------------------------------- coverage


def _fit_classes() -> set[str]:
    """Classes of the toolkit with an instance method ``fit`` (a classmethod ``fit`` builds an object, as the
    design terms' do: not a model)."""
    out = set()
    for path in TOOLKIT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if (
                    isinstance(item, ast.FunctionDef)
                    and item.name == "fit"
                    and not any(
                        isinstance(d, ast.Name) and d.id in ("classmethod", "staticmethod") for d in item.decorator_list
                    )
                ):
                    out.add(node.name)
    return out


def test_every_model_class_is_checked():
    assert _fit_classes() == set(CASES)


# --------------------------------------------------------------------------- helpers


def _learned(model: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}


def _assert_same(a: Any, b: Any, where: str, timings: tuple[str, ...]) -> None:
    """Exact equality of learned values: frames, arrays, dataclasses, InferenceData, containers."""
    assert type(a) is type(b), where
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif type(a).__name__ == "InferenceData":  # every group's values (not its attrs: creation time)
        assert a.groups() == b.groups(), where
        for g in a.groups():
            assert a[g].equals(b[g]), f"{where}.{g} differs"
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if f.name not in timings:
                _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}", timings)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]", timings)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]", timings)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where
