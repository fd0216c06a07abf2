"""Bayesian variants of the expected-performance core: shrinkage, uncertainty, star-band probabilities.

- :func:`fit_hierarchical` -- the full hierarchical logistic model (a measure's fixed part plus
  nested random intercepts), usable on any data; PyMC model sampled with nutpie.
- :mod:`~toolkit.bayes.twostage` -- the fast two-stage model: frequentist expected probabilities as
  offsets, site effects from the records (exact Bernoulli likelihood on compressed offsets),
  sampled with nutpie through a hand-written numba density (:mod:`~toolkit.bayes.density`).
- :func:`~toolkit.bayes.ratings.bayes_ratings` -- a release's posterior, every draw scored by the
  method: per-entity medians and intervals and ``p_star_1..5``.
- :mod:`~toolkit.bayes.diagnostics` -- R-hat, bulk and tail ESS and divergences, and their gate.

Priors, sampler settings, gates and scoring choices: ``configs/bayes/<name>.yaml``.
"""

from toolkit.bayes.config import BayesConfig, load_bayes_config
from toolkit.bayes.diagnostics import Diagnostics, check_convergence
from toolkit.bayes.hierarchical import HierarchicalModel, fit_hierarchical

__all__ = [
    "BayesConfig",
    "Diagnostics",
    "HierarchicalModel",
    "check_convergence",
    "fit_hierarchical",
    "load_bayes_config",
]
