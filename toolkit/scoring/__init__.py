"""Deterministic scoring: fitted expectations in, published star ratings out.

The six steps of the 2018 DES Star Ratings as docs/method.md reads them, and every
business rule (weight adjustment, minimum data, publishing across releases,
new sites and contracts, novations), with all numbers of the method in
``configs/methods/``. Pure functions: tables or arrays in, tables or arrays
out; no I/O (``toolkit score`` reads and writes), no randomness.

The pieces, each usable alone::

    load_method            configs/methods/<name>.yaml -> MethodConfig
    adjust_weights         Tables 7 and 8, Attachment C
    group_ratios           Step 3, Attachment B
    standardise            Step 4 (with standardisation_parameters)
    performance_score      Step 5
    star_percentage        Step 6 (with national_average, truncate_percentage)
    stars_from_percentage  Table 6
    meets_minimum_data     Thresholds for Calculated Ratings
    apply_novations        Contract novations
    score_arrays           Steps 1-6 on arrays, optionally with a leading draw axis
    score_entities         the ratings table, with the publishing rules
    validate_entity_measures
"""

from toolkit.scoring.arrays import ScoreArrays, score_arrays
from toolkit.scoring.config import MethodConfig, ProgramMethod, load_method
from toolkit.scoring.novation import apply_novations
from toolkit.scoring.ratios import group_ratios
from toolkit.scoring.rules import meets_minimum_data
from toolkit.scoring.standardise import standardisation_parameters, standardise
from toolkit.scoring.stars import (
    national_average,
    performance_score,
    star_percentage,
    stars_from_percentage,
    truncate_percentage,
)
from toolkit.scoring.table import (
    output_dtypes,
    score_entities,
    score_entities_with_parameters,
)
from toolkit.scoring.validate import validate_entity_measures, validate_previous
from toolkit.scoring.weights import AdjustedWeights, adjust_weights

__all__ = [
    "AdjustedWeights",
    "MethodConfig",
    "ProgramMethod",
    "ScoreArrays",
    "adjust_weights",
    "apply_novations",
    "group_ratios",
    "load_method",
    "meets_minimum_data",
    "national_average",
    "output_dtypes",
    "performance_score",
    "score_arrays",
    "score_entities",
    "score_entities_with_parameters",
    "standardisation_parameters",
    "standardise",
    "star_percentage",
    "stars_from_percentage",
    "truncate_percentage",
    "validate_entity_measures",
    "validate_previous",
]
