"""Client-level results across providers (seed 004), with privacy built in.

Data flows one way::

    data_contracts/clientlevel/ -> load       (validate; keyed-hash identifiers on load; consent; ledger)
                                -> features   (periods, timeliness, completion, improved per dimension)
                                -> scorecard  (RBA counts as cells with their additive relations)
                                -> compare    (expected model on client characteristics; O/E, funnel,
                                               two-stage shrinkage in shrinkage.py, per service and provider)
                                -> publish    (small-cell suppression with complementary cells, manifest)
                                -> run        (written, scanned, tracked, model registered; reproduce.py)

``toolkit clients synth|report|reproduce`` run it from the command line; the secret of the keyed
hash is read from an environment variable named by ``--secret-env`` and never stored.
"""
