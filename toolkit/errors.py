"""One error tree for everything the user can get wrong.

The CLI turns a :class:`ToolkitError` into a clear message and exit code 2;
any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class ToolkitError(Exception):
    """Base class of every error caused by input, configuration or environment."""


class ConfigError(ToolkitError, ValueError):
    """A configuration file is missing, malformed or inconsistent."""


class SpecError(ConfigError):
    """A model specification cannot be built or applied."""


class DataContractError(ToolkitError, ValueError):
    """Input tables break their data contract.

    ``violations`` holds every violation found (not only the first).
    """

    def __init__(self, message: str, violations: list | None = None):
        super().__init__(message)
        self.violations = list(violations or [])


class InputError(ToolkitError, ValueError):
    """An input table (outside the data contracts) is unusable: unknown codes, bad counts."""


class ConvergenceError(ToolkitError, RuntimeError):
    """A model fit did not converge, or its diagnostics failed their gate."""


class TrackingError(ToolkitError, RuntimeError):
    """The MLflow store cannot be reached or is in an unexpected state."""


class NotFittedError(ToolkitError, ValueError, AttributeError):
    """Raised when a model is used before fit (scikit-learn's convention).

    A ``ValueError`` and an ``AttributeError`` as in scikit-learn, so that ``hasattr`` on a
    property of an unfitted model is False and callers catching either keep working.
    """


def check_is_fitted(model: object, method: str, attribute: str) -> None:
    """Raise :class:`NotFittedError` naming ``model``'s class and ``method`` unless ``attribute`` is set.

    ``attribute`` is a learned attribute (trailing underscore) that ``fit`` always sets.
    """
    if not hasattr(model, attribute):
        name = type(model).__name__
        raise NotFittedError(f"{name}.{method}: the model is not fitted; call {name}.fit(data) first")
