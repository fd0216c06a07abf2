"""The records layer: from input tables to the records a measure counts.

- :mod:`toolkit.records.derive`: measure records from raw events (every rule of Table 2 and
  Attachment A, with a per-rule log and every excluded event);
- :mod:`toolkit.records.frame`: the model frame of a release: records joined to participants,
  regions and entities, with the entity rules applied (window, ceased and handed-back contracts,
  novations) and every excluded record listed with its reason;
- :mod:`toolkit.records.join`: the one join of every model input (measure records + participants +
  regions), used by a release's frame and by :func:`model_input` (``toolkit predict``), with every record
  that cannot be joined listed with its reason;
- :mod:`toolkit.records.aggregate`: one record per participant within each entity, summed to
  the entity-measure table the scoring module takes;
- :mod:`toolkit.records.accounting`: where every record read ended (excluded with its reason, or
  used and, per level, counted, collapsed or at an entity without a row), and the invariant
  that these sums close.

It imports only the base modules and :mod:`toolkit.contracts`.
"""

from toolkit.records.join import join_model_input, model_input

__all__ = ["join_model_input", "model_input"]
