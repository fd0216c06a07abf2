"""The claim cut-off calendar against Table 3 of seed 001."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from toolkit.errors import ConfigError
from toolkit.records.derive.calendar import (
    first_available_friday,
    last_business_day,
    load_calendar,
    parse_release,
    rule_cutoff,
)

TABLE3 = pd.read_csv(Path(__file__).parent / "fixtures" / "table3.csv", comment="#")


@pytest.fixture(scope="module")
def cal():
    return load_calendar()


@pytest.mark.parametrize("row", TABLE3.to_dict("records"), ids=list(TABLE3["release"]))
def test_rule_gives_unextended_cutoff_and_calendar_the_published_one(cal, row):
    w = cal.window(row["release"])
    assert str(w.rule_cutoff) == row["rule_cutoff"]
    assert str(w.cutoff) == row["published_end"]
    assert str(w.start) == row["published_start"]


def test_extensions_are_exactly_the_three_overrides(cal):
    extended = [w.name for w in cal.releases() if w.extended]
    assert extended == ["September 2019", "December 2019", "September 2022"]


def test_last_business_day_both_sides_of_weekend_and_holiday():
    hol = frozenset({dt.date(2024, 3, 29)})  # Good Friday 2024
    assert last_business_day(dt.date(2024, 3, 31), hol) == dt.date(2024, 3, 28)
    assert last_business_day(dt.date(2024, 3, 31), frozenset()) == dt.date(2024, 3, 29)
    assert last_business_day(dt.date(2019, 9, 30), frozenset()) == dt.date(2019, 9, 30)  # a Monday: end of month


def test_first_available_friday_skips_new_years_day():
    assert first_available_friday(2021, frozenset()) == dt.date(2021, 1, 1)
    assert first_available_friday(2021, frozenset({dt.date(2021, 1, 1)})) == dt.date(2021, 1, 8)
    assert first_available_friday(2022, frozenset()) == dt.date(2022, 1, 7)


def test_holiday_list_moves_march_2024(cal):
    assert cal.window("March 2024").cutoff == dt.date(2024, 3, 28)
    assert rule_cutoff(2024, 3, frozenset()) == dt.date(2024, 3, 29)


@pytest.mark.parametrize("name", ["2020-03", "March 2020", "march-2020", "Mar 2020"])
def test_release_names(name):
    assert parse_release(name) == (2020, 3)


@pytest.mark.parametrize("name", ["April 2020", "2020-04", "Smarch 2020", "2020"])
def test_bad_release_names_are_config_errors(name):
    with pytest.raises(ConfigError):
        parse_release(name)


def test_release_outside_calendar(cal):
    with pytest.raises(ConfigError, match="outside the calendar"):
        cal.window("December 2018")
