"""fit_hierarchical against lme4::glmer on a real clustered binary outcome (mlmRev's Contraception).

The reference numbers were made by ``tests/reference/make_lme4_reference.R`` (kept beside them);
this test reads the exported data and lme4's output and needs no R.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.bayes import fit_hierarchical

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def fitted():
    data = pd.read_csv(REF / "contraception.csv", dtype={"district": str, "livch": str})
    return fit_hierarchical(
        data, "use01 ~ age + I(age**2) + urban01 + C(livch, Treatment('0'))", group="district", random_seed=2024
    )


@pytest.mark.slow
def test_district_effects_agree_with_glmer(fitted):
    ref = pd.read_csv(REF / "contraception_lme4_modes.csv", dtype={"district": str}).set_index("district")
    ours = fitted.group_effects_.reindex(ref.index)
    assert ours["mean"].notna().all() and len(ours) == 60
    assert np.corrcoef(ours["mean"], ref["mode"])[0, 1] >= 0.99
    # posterior SDs and lme4's conditional SDs tell the same story about which districts are uncertain
    assert np.corrcoef(ours["sd"], ref["cond_sd"])[0, 1] >= 0.9


@pytest.mark.slow
def test_between_district_sd_within_ten_percent(fitted):
    sd_ref = json.loads((REF / "contraception_lme4.json").read_text())["sd_district"]
    assert abs(float(fitted.group_sd_.loc["district", "median"]) / sd_ref - 1) <= 0.10


@pytest.mark.slow
def test_fixed_effects_and_diagnostics(fitted):
    fe = json.loads((REF / "contraception_lme4.json").read_text())["fixef"]
    ours = fitted.coef_["mean"]
    assert ours["urban01"] == pytest.approx(fe["urban01"], abs=0.05)
    assert ours["I(age ** 2)"] == pytest.approx(fe["I(age^2)"], abs=0.0005)
    assert ours["C(livch, Treatment('0'))[T.1]"] == pytest.approx(fe["livch1"], abs=0.05)
    d = fitted.diagnostics_
    assert d.passed, d.failures
    assert set(fitted.group_effects_.columns) >= {"mean", "sd", "n"}
    assert "posterior" in fitted.idata_.groups()
