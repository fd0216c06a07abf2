"""Generated data for the expected-performance tests: a known logistic truth."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Rows with numeric, string, boolean and integer-coded columns and a 0/1 outcome from a known model."""
    rng = np.random.default_rng(seed)
    age = rng.integers(15, 70, n)
    jsci = np.clip(np.round(rng.gamma(5, 4, n)), 0, 80).astype(np.int64)
    tois = np.where(rng.random(n) < 0.2, 0.0, rng.beta(2, 2, n))
    rate = rng.gamma(9, 0.6, n)
    education = rng.choice(["year10", "year12", "certificate", "degree"], n, p=[0.3, 0.3, 0.25, 0.15])
    region = rng.choice(["north", "south", "east"], n)
    indigenous = rng.random(n) < 0.15
    metro = rng.random(n) < 0.6
    funding = rng.integers(1, 4, n)
    eta = (
        -0.5
        - 0.001 * (age - 40) ** 2
        - 0.03 * (jsci - 20)
        - 0.7 * tois
        - 0.1 * (rate - 5)
        + 0.4 * (education == "degree")
        - 0.2 * (education == "year10")
        + 0.2 * (region == "east")
        - 0.3 * indigenous * ~metro
        + 0.1 * funding
    )
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    return pd.DataFrame(
        {
            "age": age,
            "jsci_score": jsci,
            "time_on_income_support": tois,
            "unemployment_rate": rate,
            "education": pd.array(education, dtype="str"),
            "region": pd.array(region, dtype="str"),
            "indigenous": indigenous,
            "metro": metro,
            "funding_level": funding,
            "y": y.astype(np.int64),
            "site": rng.choice([f"S{i:02d}" for i in range(20)], n),
        }
    )


FORMULA = (
    "y ~ bs(age, df=4) + bs(time_on_income_support, df=5, degree=2)"
    " + cr(unemployment_rate, df=4, constraints='center')"
    " + C(education, Treatment('year12')) + C(funding_level) + indigenous*metro + region*jsci_score"
)
