"""Step 3: the ratio of actual to expected outcomes per group (Attachment B).

``R_g = sum_m(w'_m * A_m) / sum_m(w'_m * E_m)`` over the group's measures with
the adjusted weights ``w'``. A group whose adjusted weight is 0 has no ratio
(NaN). ``actual`` and ``expected`` may carry a leading draw axis that
``weights`` (fixed across draws, since ``n`` is) does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from toolkit.scoring.config import ProgramMethod

if TYPE_CHECKING:
    import numpy.typing as npt


def group_ratios(
    actual: npt.ArrayLike, expected: npt.ArrayLike, weights: npt.ArrayLike, program: ProgramMethod
) -> np.ndarray:
    """Weighted ratio of actual to expected outcomes per group.

    Parameters
    ----------
    actual, expected : array_like (..., E, M) or (M,)
        Actual outcomes ``A`` and expected outcomes ``E`` per measure, in the
        program's measure order; leading axes (e.g. posterior draws) broadcast.
    weights : array_like (E, M) or (M,)
        Adjusted weights from :func:`~toolkit.scoring.adjust_weights`.
    program : ProgramMethod

    Returns
    -------
    ndarray (..., E, K)
        ``R_g`` in the order of ``program.groups``; NaN where the group's
        adjusted weight is 0 (or its weighted expected outcomes are 0).

    Examples
    --------
    Site X of Attachment B (ESS; only the 26- and 52-week groups shown):

    >>> from toolkit.scoring import load_method
    >>> ess = load_method("des_2018").program_method("ESS")
    >>> A = [31, 26, 13, 6, 22, 13, 23]
    >>> E = [8.01, 10, 2, 1, 10, 10, 25]
    >>> r = group_ratios(A, E, ess.weights, ess)
    >>> [round(float(x), 2) for x in r]
    [3.87, 2.78, 2.02, 0.92]
    """
    w = np.asarray(weights, dtype=float)
    member = program.membership
    num = (np.asarray(actual, dtype=float) * w) @ member
    den = (np.asarray(expected, dtype=float) * w) @ member
    gw = np.broadcast_to(w @ member, num.shape)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=(gw > 0) & (den > 0))
    return out
