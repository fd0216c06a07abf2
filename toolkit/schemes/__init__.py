"""Outcome-reporting schemes beside the DES Star Ratings, each configured in ``configs/schemes/<scheme>/``.

One sub-package per scheme (for example :mod:`toolkit.schemes.dex`, the Data Exchange
partnership approach, and :mod:`toolkit.schemes.cohort`, small-cohort outcome evaluation),
plus parts they share:

- :mod:`toolkit.schemes.config`: frozen config base and ``extends:`` for configs that change
  a few keys of another;
- :mod:`toolkit.schemes.shrinkage`: beta-binomial shrinkage across providers (hierarchical by
  quadrature, or plug-in empirical Bayes);

Every scheme's run is tracked like a release, by :func:`toolkit.tracking.lifecycle.tracked_run`.

Importing this package imports nothing heavy.
"""
