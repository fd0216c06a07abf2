"""SLK-581: every rule of the METeOR definition, with fixtures written from the rule and checked by hand.

The rule: letters 2, 3 and 5 of the family name and letters 2 and 3 of the given name, after
removing every character that is not a letter (hyphens, apostrophes, spaces); ``2`` where the
name is too short; ``999`` / ``99`` for a missing family / given name; upper case; then the
date of birth as DDMMYYYY and the sex digit (1 male, 2 female, 3 another term, 9 not stated).
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import InputError
from toolkit.slk import (
    SLK_FORM,
    UnreadableDate,
    build_slk,
    check_keys,
    check_slk,
    dob_part,
    family_part,
    given_part,
    sex_digit,
    shared_keys,
)

# (family name, expected letters 2-3-5, how the expected value was worked out by hand)
FAMILY = [
    ("Smith", "MIH", "S M I T H: 2nd M, 3rd I, 5th H"),
    ("Thompson", "HOP", "T H O M P S O N: 2nd H, 3rd O, 5th P"),
    ("Farr", "AR2", "F A R R: 2nd A, 3rd R, no 5th letter -> 2"),
    ("Hua", "UA2", "H U A: 2nd U, 3rd A, no 5th -> 2"),
    ("Jo", "O22", "J O: 2nd O, no 3rd -> 2, no 5th -> 2"),
    ("Lee-Archer", "EER", "hyphen removed: L E E A R C H E R: 2nd E, 3rd E, 5th R (A is the 4th letter)"),
    ("O'Mara", "MAA", "apostrophe removed: O M A R A: 2nd M, 3rd A, 5th A"),
    ("Van der Berg", "ANE", "spaces removed: V A N D E R B E R G: 2nd A, 3rd N, 5th E"),
    ("smith", "MIH", "lower case is upper-cased before the letters are taken"),
    ("X", "222", "one letter: no 2nd, 3rd or 5th -> 2 2 2"),
    ("Müller", "ULE", "accent dropped (NFKD): M U L L E R: 2nd U, 3rd L, 5th E"),
    (None, "999", "no family name"),
    ("", "999", "empty family name"),
    ("  ", "999", "blank family name"),
    ("-'", "999", "nothing but punctuation: no letters, a missing name"),
]

# (given name, expected letters 2-3, worked out by hand)
GIVEN = [
    ("John", "OH", "J O H N: 2nd O, 3rd H"),
    ("Jo", "O2", "J O: 2nd O, no 3rd -> 2"),
    ("Al", "L2", "A L: 2nd L, no 3rd -> 2"),
    ("A", "22", "one letter: no 2nd or 3rd -> 2 2"),
    ("Mary-Jane", "AR", "hyphen removed: M A R Y J A N E: 2nd A, 3rd R"),
    ("D'Arcy", "AR", "apostrophe removed: D A R C Y: 2nd A, 3rd R"),
    (None, "99", "no given name"),
    ("", "99", "empty given name"),
]


@pytest.mark.parametrize("name,expected,why", FAMILY, ids=[f"{f[0]!r}" for f in FAMILY])
def test_family_name_letters_2_3_5(name, expected, why):
    assert family_part(name) == expected, why


@pytest.mark.parametrize("name,expected,why", GIVEN, ids=[f"{g[0]!r}" for g in GIVEN])
def test_given_name_letters_2_3(name, expected, why):
    assert given_part(name) == expected, why


@pytest.mark.parametrize(
    "sex,digit",
    [
        ("male", "1"),
        ("female", "2"),
        ("other", "3"),
        ("not_stated", "9"),
        ("1", "1"),
        ("9", "9"),
        ("unknown", "9"),
        ("M", "1"),
        ("F", "2"),
        ("X", "3"),
        ("Female", "2"),
        ("Not stated", "9"),
        ("Z", None),
        (None, None),
    ],
)
def test_sex_digit(sex, digit):
    assert sex_digit(sex) == digit


def test_whole_keys():
    # family MIH + given OH + 31 January 1970 as 31011970 + male 1
    assert build_slk("Smith", "John", "1970-01-31", "male") == "MIHOH310119701"
    # family MAA + missing given 99 + 5 December 2001 as 05122001 + female 2
    assert build_slk("O'Mara", None, pd.Timestamp("2001-12-05"), "female") == "MAA99051220012"
    # family EER + given L2 + 29 February 2000 (a real leap day) + another term 3
    assert build_slk("Lee-Archer", "Al", "2000-02-29", "other") == "EERL2290220003"
    # both names missing: 999 and 99
    assert build_slk(None, None, "1985-07-04", "not_stated") == "99999040719859"
    # no date of birth or an unknown sex: no key can be built
    assert build_slk("Smith", "John", None, "male") is None
    assert build_slk("Smith", "John", "1970-01-31", "Z") is None


RECORD = {"family": "Smith", "given": "John", "birth_date": "1970-01-31", "sex": "male"}


@pytest.mark.parametrize(
    "stored,record,reason",
    [
        ("MIHOH310119701", RECORD, None),  # matches the key rebuilt from the record
        ("mihoh310119701", RECORD, None),  # stored keys are read case-insensitively
        ("MIHOH31011970", RECORD, "form"),  # 13 characters
        ("MIHOH3101197011", RECORD, "form"),  # 15 characters
        ("A2BOH310119701", RECORD, "form"),  # a 2 before a letter cannot come out of the rule
        ("MIH9O310119701", RECORD, "form"),  # a digit other than 2 among the letters
        ("MIHOH310219701", {**RECORD, "birth_date": None}, "date"),  # 31 February does not exist
        ("MIHOH000019701", {**RECORD, "birth_date": None}, "date"),  # day 00
        ("MIHOH310119704", {**RECORD, "sex": None}, "sex"),  # 4 is not a sex code
        ("MIHOH010119701", RECORD, "mismatch"),  # another date of birth than the record's
        ("MIHOH310119702", RECORD, "mismatch"),  # another sex than the record's
        ("HOPOH310119701", RECORD, "mismatch"),  # another family name (Thompson)
        ("MIHO2310119701", RECORD, "mismatch"),  # another given name (Jo)
        (
            "HOPOH310119701",
            {**RECORD, "family": None, "given": None},
            None,
        ),  # no names: only date and sex can be checked
        ("99999310119701", {**RECORD, "family": None, "given": None}, "placeholder_name"),  # valid form, cannot link
        (None, RECORD, None),  # no stored key: built from the record
        (None, {**RECORD, "family": None}, "placeholder_name"),  # built with 999
        (None, {**RECORD, "given": None}, "placeholder_name"),  # built with 99
        (None, {**RECORD, "birth_date": None}, "missing"),  # cannot be built
        ("", {**RECORD, "sex": None}, "missing"),  # empty stored key, no sex
    ],
)
def test_stored_key_checks(stored, record, reason):
    c = check_slk(stored, record["family"], record["given"], record["birth_date"], record["sex"])
    assert c.reason == reason
    assert c.valid == (reason is None)


def test_configured_readings():
    # a key with placeholders is valid when the config says so
    assert check_slk(None, None, "John", "1970-01-31", "male", placeholder_names_valid=True).valid
    # an estimated date of birth is valid by default and invalid when configured
    assert check_slk(None, "Smith", "John", "1970-01-01", "male", birth_date_estimated=True).valid
    c = check_slk(
        None, "Smith", "John", "1970-01-01", "male", birth_date_estimated=True, estimated_birth_date_valid=False
    )
    assert c.reason == "estimated_birth_date"


def test_check_keys_returns_no_name_column():
    records = pd.DataFrame(
        {
            "client_id": ["C1", "C2"],
            "family_name": ["Thompson", "Farr"],
            "given_name": ["Jo", None],
            "slk": [None, "AR299010219902"],
            "birth_date": pd.to_datetime(["1990-02-01", "1990-02-01"]),
            "sex": ["female", "female"],
            "birth_date_is_estimate": [False, False],
        }
    )
    out = check_keys(records)
    assert list(out.columns) == ["slk", "slk_valid", "slk_invalid_reason"]
    assert out["slk"].tolist() == ["HOPO2010219902", "AR299010219902"]
    # the second record supplies a key with 99 for the given name, matching its missing given name
    assert out["slk_valid"].tolist() == [True, False]
    assert out["slk_invalid_reason"].tolist()[1] == "placeholder_name"


def test_shared_keys_flag_different_clients_only():
    keys = pd.Series(["K1", "K1", "K2", None, None])
    ids = pd.Series(["C1", "C2", "C3", "C4", "C5"])
    assert shared_keys(keys, ids).tolist() == [True, True, False, False, False]


names = st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"), max_size=20))


@settings(max_examples=300, deadline=None)
@given(
    family=names,
    given_name=names,
    sex=st.sampled_from(["male", "female", "other", "not_stated"]),
    dob=st.dates(min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()),
)
def test_any_built_key_has_the_form_and_validates(family, given_name, sex, dob):
    key = build_slk(family, given_name, dob, sex)
    assert SLK_FORM.match(key), key
    check = check_slk(key, family, given_name, dob, sex, placeholder_names_valid=True)
    assert check.valid and check.key == key


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij", min_size=1, max_size=12),
    noise=st.lists(st.sampled_from(["-", "'", " ", ".", "1"]), max_size=4),
    at=st.integers(0, 12),
)
def test_punctuation_anywhere_changes_nothing(name, noise, at):
    noisy = name[:at] + "".join(noise) + name[at:]
    assert family_part(noisy) == family_part(name)
    assert given_part(noisy) == given_part(name)


def test_docstring_examples():
    import doctest

    import toolkit.slk

    result = doctest.testmod(toolkit.slk)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("text", "day_first", "dob"),
    [
        ("01/02/1990", True, "01021990"),  # Australian forms: 1 February
        ("1/2/1990", True, "01021990"),
        ("31-01-1970", True, "31011970"),
        ("01/02/1990", False, "02011990"),  # month first only when asked
        ("1990-02-01", True, "01021990"),
        ("1990-02-01 00:00:00", True, "01021990"),
    ],
)
def test_text_dates_are_read_day_first(text, day_first, dob):
    assert dob_part(text, day_first) == dob


@pytest.mark.parametrize("text", ["31/02/1990", "02-01-90", "1990/13/01", "19900201", "yesterday", "00/01/1990"])
def test_an_impossible_or_ambiguous_date_is_an_error_not_none(text):
    with pytest.raises(UnreadableDate):
        dob_part(text)


def test_a_stored_key_is_not_a_mismatch_because_of_the_date_form():
    """A correct stored key with the date of birth held as DD/MM/YYYY (pandas would read 01/02 as 2 January)."""
    key = build_slk("Smith", "John", "1990-02-01", "M")
    assert check_slk(key, "Smith", "John", "01/02/1990", "M").valid


def test_check_keys_names_rows_of_unreadable_dates_and_codes_without_values():
    records = pd.DataFrame(
        {
            "slk": [None, None, None, None],
            "family_name": ["Smith", "Jones", "Brown", "Green"],
            "given_name": ["John", "Mary", "Al", "Bo"],
            "birth_date": ["01/02/1990", "31/02/1990", "1970-01-31", "15/13/1980"],
            "sex": ["M", "F", "Q7", "X"],
        }
    )
    with pytest.raises(InputError) as err:
        check_keys(records)
    msg = str(err.value)
    assert "clients.birth_date: 2 row(s)" in msg and "rows 2, 4" in msg
    assert "clients.sex: 1 row(s)" in msg and "rows 3" in msg
    assert "31/02/1990" not in msg and "Q7" not in msg and "Smith" not in msg


def test_a_department_code_table_replaces_the_default():
    codes = {"1": "1", "2": "2", "mâle": "1"}
    assert sex_digit("MÂLE", codes) == "1" and sex_digit("M", codes) is None
