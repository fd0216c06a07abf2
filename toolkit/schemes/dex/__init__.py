"""The Data Exchange (DEX) partnership approach (seed 000): SCORE minimum requirements and targets.

Flow: :mod:`~toolkit.schemes.dex.tables` (contracts ``data_contracts/dex/``, scheme rules, the
SLK step that drops names) -> :mod:`~toolkit.schemes.dex.score` (first/last per domain, partial
or complete, change, client outcome) -> :mod:`~toolkit.schemes.dex.measures` (numerators and
denominators per organisation, activity and period; status; intervals from
:mod:`toolkit.schemes.shrinkage`) -> :mod:`~toolkit.schemes.dex.report` ->
:mod:`~toolkit.schemes.dex.pipeline` (the tracked run). :mod:`~toolkit.schemes.dex.synth` writes a
synthetic DEX world. Config: ``configs/schemes/dex/``.
"""
