"""MLflow at the edge: store, provenance, logging helpers, model registry.

Library code returns objects; :mod:`toolkit.release` and ``experiments/`` log them
through this package. Importing it does not import MLflow.
"""
