"""Risk-adjusted ratings of service providers.

The reference method is the 2018 DES Star Ratings (``docs/method.md``). The package is in
layers that point one way (``ARCHITECTURE.md``; checked by import-linter), top to bottom::

    cli, demo                     entry points
    release | schemes             one job end to end: inputs, compute, write, track
    synth | tracking              synthetic worlds with known truth | MLflow (only here)
    bayes                         shrinkage variants, posterior draws scored
    scoring | privacy             the six steps and business rules (pure) | small-cell suppression
    expected                      model specs, spline logistic fits, predictions
    records | slk                 derive, entity rules, aggregation per entity | linkage key
    contracts                     read and validate input tables against data_contracts/
    config, output, errors, paths base: configs, progress and table files, error tree, folders

Importing :mod:`toolkit` is cheap: heavy libraries are imported where used.
"""

__version__ = "0.1.0"
