"""nutpie with numba C callbacks (``sampler.callbacks: native``) against nutpie calling Python: the same
density, initial points and seeds must give the same draws of every stored variable."""

from __future__ import annotations

import numpy as np
import pytest

from tests.bayes.test_density import _records
from toolkit.bayes.config import load_bayes_config
from toolkit.bayes.twostage import cell_data, compile_two_stage


def _sample(cd, cross, callbacks):
    import nutpie

    cfg = load_bayes_config()
    cfg = cfg.model_copy(update={"sampler": cfg.sampler.model_copy(update={"callbacks": callbacks})})
    model, _ = compile_two_stage(cd, cfg, cross, random_seed=3)
    return nutpie.sample(model, draws=150, tune=100, chains=2, cores=2, seed=11, progress_bar=False)


@pytest.mark.parametrize(
    ("levels", "cross"),
    [
        (("site",), "independent"),
        (("organisation", "contract", "site"), "independent"),
        (("contract", "site"), "factor"),
    ],
)
def test_native_callbacks_give_the_python_model_draws(levels, cross):
    cd = cell_data(_records(5), "DMS", ["a", "b"], levels, 2)
    native, python = _sample(cd, cross, "native"), _sample(cd, cross, "python")
    assert set(native.posterior.data_vars) == set(python.posterior.data_vars)
    for v in python.posterior.data_vars:
        a, b = native.posterior[v].values, python.posterior[v].values
        assert a.shape == b.shape, v
        assert np.all(np.isfinite(a)), v
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, err_msg=v)
    assert native.posterior["b_site"].values.std() > 0
    np.testing.assert_array_equal(native.sample_stats["diverging"].values, python.sample_stats["diverging"].values)
