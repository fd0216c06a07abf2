"""What happens to new data the model never saw: out-of-range values and unseen levels.

Both are explicit, configured choices, and each use of a choice other than
"error" raises a warning that names the column, the number of rows and the
policy. Data values are never echoed.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np

from toolkit.errors import InputError, SpecError

OutOfRange = Literal["clip", "extrapolate", "error"]
UnseenLevel = Literal["error", "reference"]
OUT_OF_RANGE_POLICIES = ("clip", "extrapolate", "error")
UNSEEN_LEVEL_POLICIES = ("error", "reference")


class ExtrapolationWarning(UserWarning):
    """New data has values outside a column's training range; the configured policy was applied."""


class UnseenLevelWarning(UserWarning):
    """New data has categorical levels absent from training; they were mapped to the reference level."""


def check_policies(out_of_range: str, unseen_level: str) -> None:
    """Raise SpecError for an unknown policy name."""
    if out_of_range not in OUT_OF_RANGE_POLICIES:
        raise SpecError(f"out_of_range must be one of {OUT_OF_RANGE_POLICIES}, got {out_of_range!r}")
    if unseen_level not in UNSEEN_LEVEL_POLICIES:
        raise SpecError(f"unseen_level must be one of {UNSEEN_LEVEL_POLICIES}, got {unseen_level!r}")


def apply_range(x: np.ndarray, lower: float, upper: float, policy: str, name: str) -> np.ndarray:
    """Apply the out-of-range policy to ``x`` given the training boundaries of factor ``name``.

    Returns ``x`` itself when every value is in range, a clipped copy under
    "clip", ``x`` under "extrapolate"; raises InputError under "error".
    """
    below = int(np.count_nonzero(x < lower))
    above = int(np.count_nonzero(x > upper))
    if below + above == 0:
        return x
    where = f"{below} row(s) below and {above} row(s) above the training range of {name}"
    if policy == "error":
        raise InputError(f"{where} (out_of_range='error')")
    if policy == "clip":
        warnings.warn(
            f"{where}: clipped to the training boundary (out_of_range='clip')", ExtrapolationWarning, stacklevel=4
        )
        return np.clip(x, lower, upper)
    warnings.warn(
        f"{where}: extrapolated beyond the boundary (out_of_range='extrapolate')", ExtrapolationWarning, stacklevel=4
    )
    return x


def apply_unseen(codes: np.ndarray, reference: int, policy: str, name: str) -> np.ndarray:
    """Apply the unseen-level policy to integer level codes (-1 marks an unseen level)."""
    unseen = codes < 0
    count = int(np.count_nonzero(unseen))
    if count == 0:
        return codes
    if policy == "error":
        raise InputError(f"{count} row(s) of {name} have a level not seen in training (unseen_level='error')")
    warnings.warn(
        f"{count} row(s) of {name} have a level not seen in training: treated as the reference "
        f"level (unseen_level='reference')",
        UnseenLevelWarning,
        stacklevel=4,
    )
    codes = codes.copy()
    codes[unseen] = reference
    return codes
