"""Statistical Linkage Key 581 (SLK-581): build, check and compare keys.

The key follows the AIHW METeOR definition (identifier 349510):

- letters 2, 3 and 5 of the family name, then letters 2 and 3 of the given name;
- every character that is not a letter (hyphen, apostrophe, space, full stop, digit)
  is removed before positions are counted, and letters are upper-cased;
- a position the name is too short to reach is ``2``; a missing family name is
  ``999`` and a missing given name ``99``;
- then the date of birth as ``DDMMYYYY`` and the sex digit: ``1`` male, ``2`` female,
  ``3`` another term (intersex, indeterminate), ``9`` not stated or inadequately described.

Reading chosen here, beyond METeOR's text: accented letters are reduced to their base
letter (Unicode NFKD, combining marks dropped: "Müller" reads as "MULLER") before the
non-letters are removed.

Names are used only inside this module's functions: the results carry the key and
flags, never a name.

Examples
--------
>>> build_slk("Smith", "John", "1970-01-31", "male")
'MIHOH310119701'
>>> build_slk("O'Mara", None, "2001-12-05", "female")
'MAA99051220012'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from toolkit.errors import InputError

#: Positions (1-based) of the letters taken from each name.
FAMILY_POSITIONS = (2, 3, 5)
GIVEN_POSITIONS = (2, 3)
MISSING_LETTER = "2"
MISSING_FAMILY = "999"
MISSING_GIVEN = "99"

#: Sex digit of the key for the values a record may hold, lower-cased: our words, the digit itself, and the
#: codes departments' forms use (a scheme's config may replace the table: ``slk.sex_codes``).
SEX_DIGITS = {
    "male": "1", "m": "1", "1": "1",
    "female": "2", "f": "2", "2": "2",
    "other": "3", "x": "3", "intersex": "3", "indeterminate": "3", "another term": "3", "3": "3",
    "not_stated": "9", "not stated": "9", "u": "9", "unknown": "9", "9": "9",
}  # fmt: skip
KNOWN_SEX_DIGITS = frozenset("1239")
#: Text dates: ISO (year first) or Australian day first (``31/01/1970``, ``31-01-1970``, ``31.01.1970``).
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
DAY_FIRST_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")

#: The form of a key: a family part that can come out of the rule, a given part likewise,
#: eight digits, one digit. "A2B" cannot: a missing third letter implies a missing fifth.
SLK_FORM = re.compile(
    r"^(?P<family>[A-Z]{3}|[A-Z]{2}2|[A-Z]22|222|999)"
    r"(?P<given>[A-Z]{2}|[A-Z]2|22|99)"
    r"(?P<dob>\d{8})(?P<sex>\d)$"
)

#: Reasons a key is invalid, in the order they are checked; the first that applies is reported.
REASONS = ("missing", "form", "date", "sex", "mismatch", "placeholder_name", "estimated_birth_date")


def _letters(name: object) -> str | None:
    """Upper-case A-Z letters of ``name``; None when nothing is left (a missing name)."""
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return None
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    letters = re.sub(r"[^A-Z]", "", text)
    return letters or None


def name_part(name: object, positions: tuple[int, ...], missing_name: str) -> str:
    """Letters of ``name`` at the 1-based ``positions``, ``2`` where too short, ``missing_name`` if absent.

    Examples
    --------
    >>> name_part("Farr", FAMILY_POSITIONS, MISSING_FAMILY)
    'AR2'
    >>> name_part("  ", GIVEN_POSITIONS, MISSING_GIVEN)
    '99'
    """
    letters = _letters(name)
    if letters is None:
        return missing_name
    return "".join(letters[p - 1] if p <= len(letters) else MISSING_LETTER for p in positions)


def family_part(name: object) -> str:
    """Letters 2, 3 and 5 of a family name (``999`` when missing)."""
    return name_part(name, FAMILY_POSITIONS, MISSING_FAMILY)


def given_part(name: object) -> str:
    """Letters 2 and 3 of a given name (``99`` when missing)."""
    return name_part(name, GIVEN_POSITIONS, MISSING_GIVEN)


class UnreadableDate(ValueError):
    """A date of birth that is present but cannot be read (ambiguous form or not a real date)."""


def _as_date(value: object, day_first: bool = True) -> date | None:
    """A date of birth from a date, a timestamp or text; None when missing.

    Text is read as ISO (``1970-01-31``) or, with ``day_first`` (the Australian forms departments
    hold), as ``DD/MM/YYYY`` (``01/02/1990`` is 1 February); with ``day_first=False`` as ``MM/DD/YYYY``.
    Any other text, or a day that does not exist, raises :class:`UnreadableDate`: never a silent None.
    """
    if value is None or value is pd.NaT or (not isinstance(value, (str, date, datetime)) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    if m := ISO_DATE.match(text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := DAY_FIRST_DATE.match(text):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        d, mo = (a, b) if day_first else (b, a)
    else:
        raise UnreadableDate("not a date in YYYY-MM-DD or DD/MM/YYYY form")
    try:
        return date(y, mo, d)
    except ValueError:
        raise UnreadableDate("not a real date") from None


def dob_part(value: object, day_first: bool = True) -> str | None:
    """Date of birth as ``DDMMYYYY``; None when there is no date (see :func:`_as_date` for text)."""
    d = _as_date(value, day_first)
    return None if d is None else d.strftime("%d%m%Y")


def sex_digit(value: object, codes: Mapping[str, str] = SEX_DIGITS) -> str | None:
    """The key's sex digit for a record's sex value (looked up lower-cased in ``codes``); None when the value
    is missing or not in the table."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return codes.get(str(value).strip().lower())


def build_slk(
    family: object,
    given: object,
    birth_date: object,
    sex: object,
    *,
    sex_codes: Mapping[str, str] = SEX_DIGITS,
    day_first: bool = True,
) -> str | None:
    """The SLK-581 of a record; None when the date of birth or the sex is missing or not in the code table
    (a date of birth that is present but unreadable raises :class:`UnreadableDate`)."""
    dob, sx = dob_part(birth_date, day_first), sex_digit(sex, sex_codes)
    if dob is None or sx is None:
        return None
    return family_part(family) + given_part(given) + dob + sx


def _real_date(ddmmyyyy: str) -> bool:
    try:
        datetime.strptime(ddmmyyyy, "%d%m%Y")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SlkCheck:
    """The outcome of checking one record's key: the key used and why it is invalid (None if valid)."""

    key: str | None
    reason: str | None

    @property
    def valid(self) -> bool:
        return self.reason is None


def check_slk(
    stored: object,
    family: object,
    given: object,
    birth_date: object,
    sex: object,
    *,
    placeholder_names_valid: bool = False,
    birth_date_estimated: bool = False,
    estimated_birth_date_valid: bool = True,
    sex_codes: Mapping[str, str] = SEX_DIGITS,
    day_first: bool = True,
) -> SlkCheck:
    """Check a record's key.

    With a stored key: its form, a real date, a known sex digit, and a match with the
    key rebuilt from the record (the name parts only when the record holds names).
    Without one: the key is built from the record. Then, as configured, a key made
    with a missing-name placeholder (``999``/``99``) or from an estimated date of birth
    is invalid.

    Examples
    --------
    >>> check_slk("MIHOH310119701", "Smith", "John", "1970-01-31", "male").valid
    True
    >>> check_slk("MIHOH310219701", None, None, "1970-01-31", "male").reason
    'date'
    """
    has_names = _letters(family) is not None or _letters(given) is not None
    if stored is None or (not isinstance(stored, str) and pd.isna(stored)) or not str(stored).strip():
        key = build_slk(family, given, birth_date, sex, sex_codes=sex_codes, day_first=day_first)
        if key is None:
            return SlkCheck(None, "missing")
    else:
        key = str(stored).strip().upper()
        m = SLK_FORM.match(key)
        if m is None:
            return SlkCheck(None, "form")
        if not _real_date(m["dob"]):
            return SlkCheck(None, "date")
        if m["sex"] not in KNOWN_SEX_DIGITS:
            return SlkCheck(None, "sex")
        rebuilt_dob, rebuilt_sex = dob_part(birth_date, day_first), sex_digit(sex, sex_codes)
        if (rebuilt_dob is not None and rebuilt_dob != m["dob"]) or (
            rebuilt_sex is not None and rebuilt_sex != m["sex"]
        ):
            return SlkCheck(None, "mismatch")
        if has_names and family_part(family) + given_part(given) != m["family"] + m["given"]:
            return SlkCheck(None, "mismatch")
    if not placeholder_names_valid and (key.startswith(MISSING_FAMILY) or key[3:5] == MISSING_GIVEN):
        return SlkCheck(key, "placeholder_name")
    if birth_date_estimated and not estimated_birth_date_valid:
        return SlkCheck(key, "estimated_birth_date")
    return SlkCheck(key, None)


def check_keys(
    records: pd.DataFrame,
    *,
    stored: str = "slk",
    family: str = "family_name",
    given: str = "given_name",
    birth_date: str = "birth_date",
    sex: str = "sex",
    estimated: str | None = "birth_date_is_estimate",
    placeholder_names_valid: bool = False,
    estimated_birth_date_valid: bool = True,
    sex_codes: Mapping[str, str] = SEX_DIGITS,
    day_first: bool = True,
    table: str = "clients",
) -> pd.DataFrame:
    """Check every record's key; return ``slk`` (the key used, or missing), ``slk_valid`` and
    ``slk_invalid_reason``, on the index of ``records``. No name column is returned.

    A date of birth that is present but cannot be read, or a sex value that is not in ``sex_codes``, is
    an :class:`~toolkit.errors.InputError` naming ``table``, the column, the count and the rows (never a
    silent missing key, never the value).
    """
    _check_readable(records, birth_date, sex, sex_codes, day_first, table)

    def col(name: str | None) -> list:
        if name is None or name not in records.columns:
            return [None] * len(records)
        return records[name].tolist()

    est = [bool(v) if v is not None and not pd.isna(v) else False for v in col(estimated)]
    out = [
        check_slk(
            s,
            f,
            g,
            d,
            x,
            placeholder_names_valid=placeholder_names_valid,
            birth_date_estimated=e,
            estimated_birth_date_valid=estimated_birth_date_valid,
            sex_codes=sex_codes,
            day_first=day_first,
        )
        for s, f, g, d, x, e in zip(col(stored), col(family), col(given), col(birth_date), col(sex), est, strict=True)
    ]
    return pd.DataFrame(
        {
            "slk": pd.array([c.key for c in out], dtype="str"),
            "slk_valid": [c.valid for c in out],
            "slk_invalid_reason": pd.array([c.reason for c in out], dtype="str"),
        },
        index=records.index,
    )


def _check_readable(
    records: pd.DataFrame, birth_date: str, sex: str, codes: Mapping[str, str], day_first: bool, table: str
) -> None:
    """Raise naming every row whose date of birth is present but unreadable or whose sex is not a known code."""
    problems = []
    if birth_date in records.columns:
        bad = []
        for i, v in enumerate(records[birth_date].tolist()):
            try:
                _as_date(v, day_first)
            except UnreadableDate:
                bad.append(i + 1)
        if bad:
            form = "YYYY-MM-DD or DD/MM/YYYY" if day_first else "YYYY-MM-DD or MM/DD/YYYY"
            problems.append(
                f"{table}.{birth_date}: {len(bad)} row(s) not a real date in {form} form "
                f"(rows {', '.join(map(str, bad[:10]))}{', ...' if len(bad) > 10 else ''})"
            )
    if sex in records.columns:
        v = records[sex]
        present = v.notna() & (v.astype(str).str.strip() != "")
        known = v.astype(str).str.strip().str.lower().isin(list(codes))
        bad_rows = [int(i) + 1 for i in (present & ~known).to_numpy().nonzero()[0]]
        if bad_rows:
            problems.append(
                f"{table}.{sex}: {len(bad_rows)} row(s) with a code not in the sex code table "
                f"(rows {', '.join(map(str, bad_rows[:10]))}{', ...' if len(bad_rows) > 10 else ''}); "
                f"known codes: {', '.join(sorted(codes))}"
            )
    if problems:
        raise InputError("statistical linkage key: " + "; ".join(problems))


def shared_keys(keys: pd.Series, client_ids: pd.Series) -> pd.Series:
    """True where a (valid) key is shared by more than one distinct client id.

    Two records with one key may be one person recorded twice or two people whose names
    agree on the sampled letters (twins of one sex are the classic case): either way a
    reviewer should look.
    """
    frame = pd.DataFrame({"k": keys.to_numpy(), "c": client_ids.to_numpy()}, index=keys.index)
    n = frame.dropna(subset=["k"]).groupby("k")["c"].nunique()
    return frame["k"].map(n).fillna(0).gt(1)
