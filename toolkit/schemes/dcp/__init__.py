"""DCP out-of-home-care KPIs (seed 002): catalogue, band validation, quarterly assessment.

Data flows one way::

    configs/schemes/dcp/catalogue*.yaml -> catalogue (validated: exact band cover per variant)
    data_contracts/dcp/                 -> report.load_dcp_tables
                                        -> submissions (usable rows, values, exclusions)
                                        -> assess (value, level, target met, band audit)
                                        -> rollup (tier/domain roll-up, level-3 runs, escalation)
                                        -> report (written, tracked in MLflow)

``toolkit dcp catalogue|synth|report`` run it from the command line.
"""
