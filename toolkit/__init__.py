"""Risk-adjusted ratings of service providers.

The reference method is the 2018 DES Star Ratings. Data flows one way::

    data_contracts/ -> toolkit.contracts  (read and validate input tables)
                    -> toolkit.synth      (a synthetic national world with known truth)
                    -> toolkit.expected   (spline logistic fits, predictions)
                    -> toolkit.bayes      (shrinkage variants)
                    -> toolkit.scoring    (pure, deterministic six steps)
                    -> toolkit.release    (one release end to end, tracked in MLflow)

Importing :mod:`toolkit` is cheap: heavy libraries are imported where used.
"""

__version__ = "0.1.0"
