"""Expected performance: spline logistic fits with explicit, stored design state.

``fit_expected(data, "y ~ bs(age, df=4) + C(education, Treatment('year12')) + indigenous:metro")``
returns an :class:`ExpectedModel` whose ``predict`` works on any frame from the
knots, boundaries and levels it stored at fit time (never re-estimated).

Modules: :mod:`~toolkit.expected.formula` (parsing), :mod:`~toolkit.expected.terms`
and :mod:`~toolkit.expected.splines` (factors and bases with state),
:mod:`~toolkit.expected.design` (design matrices), :mod:`~toolkit.expected.irls`
(the fit), :mod:`~toolkit.expected.model`, :mod:`~toolkit.expected.summary`,
:mod:`~toolkit.expected.diagnostics` (AUC, calibration, O/E, funnel plots),
:mod:`~toolkit.expected.spec` (model specs from ``configs/models/``) and
:mod:`~toolkit.expected.fitting` (a model set fitted per measure x program on a frame of records).
"""

from toolkit.expected.design import DesignState, build_matrix, fit_design
from toolkit.expected.model import ExpectedModel, fit_expected
from toolkit.expected.policy import ExtrapolationWarning, UnseenLevelWarning

__all__ = [
    "DesignState",
    "ExpectedModel",
    "ExtrapolationWarning",
    "UnseenLevelWarning",
    "build_matrix",
    "fit_design",
    "fit_expected",
]
