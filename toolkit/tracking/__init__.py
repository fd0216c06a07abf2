"""MLflow at the edge, and only here: the store, the tracked-run lifecycle, provenance, models.

- :mod:`~toolkit.tracking.lifecycle`: :func:`~toolkit.tracking.lifecycle.tracked_run`, the one way a
  job (release, scheme report, comparison) opens its parent run and output folder;
- :mod:`~toolkit.tracking.provenance`: what a run records about its config, inputs, code and
  environment, and how reproduction finds what drifted;
- :mod:`~toolkit.tracking.models` and :mod:`~toolkit.tracking.pyfunc`: every registered model,
  logged as one pyfunc that validates its input against a data contract;
- :mod:`~toolkit.tracking.reproduce`: shared steps of re-running a tracked job;
- :mod:`~toolkit.tracking.store`, :mod:`~toolkit.tracking.server`: embedded sqlite or a shared server.

Jobs describe what to record; this package records it. Importing it does not import MLflow.
"""
