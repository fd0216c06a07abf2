"""Outcome evaluation of a small cohort with pre and post measures (seed 003).

:mod:`~toolkit.schemes.cohort.evaluate` (posteriors per domain), :mod:`~toolkit.schemes.cohort.power`
(smallest detectable effects), :mod:`~toolkit.schemes.cohort.simulate` and
:mod:`~toolkit.schemes.cohort.coverage` (cohorts with a known truth),
:mod:`~toolkit.schemes.cohort.report` (the plain statement), :mod:`~toolkit.schemes.cohort.pipeline`
(``toolkit evaluate``, tracked). Config: ``configs/schemes/cohort/``.
"""
