"""The release calendar: claim cut-off dates and two-year assessment windows.

Seed 001, "Claim cut-off date for Star Ratings period": the cut-off is the last business
day of the quarter (a weekday that is not a public holiday) for the March, June and
September releases, and the first available Friday in January for the December release.
The assessment window ("Two Year Rolling Assessment Period") runs from the day after the
same quarter end two years earlier (never before the program start) to the cut-off.
Announced extensions (Table 3 note a) are explicit overrides in
``configs/calendar/des_releases.yaml``; the holiday list is data too.

Examples
--------
>>> cal = load_calendar()
>>> w = cal.window("December 2020")
>>> str(w.start), str(w.cutoff)
('2019-01-01', '2021-01-08')
>>> str(cal.window("September 2019").rule_cutoff), str(cal.window("September 2019").cutoff)
('2019-09-30', '2019-10-04')
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from toolkit.config import config_reference, load_yaml
from toolkit.errors import ConfigError

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
QUARTER_MONTHS = (3, 6, 9, 12)
FRIDAY = 4


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def quarter_end(year: int, month: int) -> dt.date:
    """Last calendar day of the quarter ending in ``month`` of ``year``."""
    if month not in QUARTER_MONTHS:
        raise ConfigError(f"release month {month} does not close a quarter (March, June, September or December)")
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def last_business_day(day: dt.date, holidays: frozenset[dt.date]) -> dt.date:
    """The latest weekday on or before ``day`` that is not a public holiday.

    >>> str(last_business_day(dt.date(2019, 3, 31), frozenset()))   # a Sunday
    '2019-03-29'
    """
    d = day
    while d.weekday() >= 5 or d in holidays:
        d -= dt.timedelta(days=1)
    return d


def first_available_friday(year: int, holidays: frozenset[dt.date]) -> dt.date:
    """The first Friday of January ``year`` that is not a public holiday.

    >>> str(first_available_friday(2021, frozenset({dt.date(2021, 1, 1)})))
    '2021-01-08'
    """
    d = dt.date(year, 1, 1)
    d += dt.timedelta(days=(FRIDAY - d.weekday()) % 7)
    while d in holidays:
        d += dt.timedelta(days=7)
    return d


def rule_cutoff(year: int, month: int, holidays: frozenset[dt.date]) -> dt.date:
    """The claim cut-off the calendar rule gives for the release closing ``month`` of ``year``."""
    if month == 12:
        return first_available_friday(year + 1, holidays)
    return last_business_day(quarter_end(year, month), holidays)


def window_start(year: int, month: int, program_start: dt.date, years: int = 2) -> dt.date:
    """First day of the assessment window: the day after the quarter end ``years`` earlier, not before the
    program start."""
    nominal = quarter_end(year - years, month) + dt.timedelta(days=1)
    return max(nominal, program_start)


@dataclass(frozen=True)
class ReleaseWindow:
    """One release's assessment window.

    ``cutoff`` is the published cut-off (an override when an extension was announced),
    ``rule_cutoff`` the date the calendar rule gives.
    """

    release_id: str
    name: str
    start: dt.date
    cutoff: dt.date
    rule_cutoff: dt.date
    quarter_end: dt.date
    override_note: str = ""

    @property
    def extended(self) -> bool:
        return self.cutoff != self.rule_cutoff


_ID = re.compile(r"^(\d{4})-(\d{2})$")
_NAME = re.compile(r"^([A-Za-z]+)[\s_-]+(\d{4})$")


def parse_release(name: str) -> tuple[int, int]:
    """``"2020-03"``, ``"March 2020"`` or ``"march-2020"`` -> ``(2020, 3)``."""
    s = str(name).strip()
    m = _ID.match(s)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
    else:
        m = _NAME.match(s)
        if not m:
            raise ConfigError(f"release {name!r} is not a release name such as 'March 2020' or '2020-03'")
        word = m.group(1).lower()
        hits = [i + 1 for i, full in enumerate(MONTHS) if full.lower().startswith(word) and len(word) >= 3]
        if len(hits) != 1:
            raise ConfigError(f"release {name!r}: {m.group(1)!r} is not a month name")
        year, month = int(m.group(2)), hits[0]
    if month not in QUARTER_MONTHS:
        raise ConfigError(f"release {name!r}: releases close the March, June, September or December quarter")
    return year, month


@dataclass(frozen=True)
class ReleaseCalendar:
    """The release calendar of ``configs/calendar/des_releases.yaml`` and its holiday list."""

    name: str
    program_start: dt.date
    window_years: int
    first_release: tuple[int, int]
    last_release: tuple[int, int]
    holidays: frozenset[dt.date]
    holiday_span: tuple[dt.date, dt.date]
    #: (year, month) -> (cutoff, rule_cutoff, note)
    overrides: dict[tuple[int, int], tuple[dt.date, dt.date | None, str]]
    source: str = ""

    def window(self, release: str) -> ReleaseWindow:
        """The assessment window of a release, by name (``"March 2020"``) or id (``"2020-03"``)."""
        year, month = parse_release(release)
        rid = f"{year:04d}-{month:02d}"
        if not self.first_release <= (year, month) <= self.last_release:
            lo, hi = (f"{y:04d}-{m:02d}" for y, m in (self.first_release, self.last_release))
            raise ConfigError(f"release {release!r} is outside the calendar {self.source} ({lo} to {hi})")
        rule = rule_cutoff(year, month, self.holidays)
        if not self.holiday_span[0] <= rule <= self.holiday_span[1]:
            raise ConfigError(f"release {rid}: cut-off {rule} is outside the holiday list's years")
        cutoff, note = rule, ""
        if (year, month) in self.overrides:
            cutoff, expected_rule, note = self.overrides[(year, month)]
            if expected_rule is not None and expected_rule != rule:
                raise ConfigError(
                    f"{self.source}: override for {rid} says the rule gives {expected_rule}, the rule gives {rule}"
                )
        return ReleaseWindow(
            release_id=rid,
            name=f"{MONTHS[month - 1]} {year}",
            start=window_start(year, month, self.program_start, self.window_years),
            cutoff=cutoff,
            rule_cutoff=rule,
            quarter_end=quarter_end(year, month),
            override_note=note,
        )

    def releases(self) -> list[ReleaseWindow]:
        """Every release of the calendar, oldest first."""
        out = []
        y, m = self.first_release
        while (y, m) <= self.last_release:
            out.append(self.window(f"{y:04d}-{m:02d}"))
            y, m = (y + 1, 3) if m == 12 else (y, m + 3)
        return out


_CACHE: dict = {}


def load_calendar(path: str | Path = "calendar/des_releases.yaml") -> ReleaseCalendar:
    """Read the release calendar and its holiday list, checking every date (reused until a file changes).

    Both are named by configs (the derive config's ``calendar``, the calendar's ``holidays``), so both
    must lie inside the repository root."""
    p = config_reference(path, "calendar", "derive config", "calendar")
    raw = load_yaml(p)
    holidays = raw.get("holidays")
    if holidays is not None and not isinstance(holidays, str):
        raise ConfigError(f"{p}: 'holidays' must name a holidays file")
    hp = config_reference(holidays, "holidays", p, "calendar") if holidays else None
    key = (str(p.resolve()), p.stat().st_mtime_ns, str(hp), hp.stat().st_mtime_ns if hp else 0)
    if key not in _CACHE:
        _CACHE[key] = _read_calendar(p, raw)
    return _CACHE[key]


def _read_calendar(p: Path, raw: dict) -> ReleaseCalendar:
    src = str(p)
    for key in ("program_start", "holidays", "first_release", "last_release", "window_years"):
        if key not in raw:
            raise ConfigError(f"{src}: missing key {key!r}")
    for key, expected in (
        ("quarter_cutoff_rule", "last_business_day"),
        ("december_cutoff_rule", "first_available_friday_in_january"),
    ):
        if raw.get(key, expected) != expected:
            raise ConfigError(f"{src}: {key} must be {expected!r} (the only rule implemented)")
    if not isinstance(raw["holidays"], str):
        raise ConfigError(f"{src}: 'holidays' must name a holidays file")
    if isinstance(raw["window_years"], bool) or not isinstance(raw["window_years"], int) or raw["window_years"] < 1:
        raise ConfigError(f"{src}: window_years must be a whole number of years from 1")
    hp = config_reference(raw["holidays"], "holidays", p, "calendar")
    hraw = load_yaml(hp)
    days: set[dt.date] = set()
    kinds, cover = hraw.get("holidays") or {}, hraw.get("covers") or {}
    if not isinstance(kinds, dict) or not all(isinstance(v, list | None) for v in kinds.values()):
        raise ConfigError(f"{hp}: holidays must map each kind of holiday to a list of dates")
    if not isinstance(cover, dict):
        raise ConfigError(f"{hp}: covers must give 'from' and 'to' dates")
    for kind, values in kinds.items():
        for v in values or ():
            days.add(_date(v, f"{hp}: holidays.{kind}"))
    span = (_date(cover.get("from"), f"{hp}: covers.from"), _date(cover.get("to"), f"{hp}: covers.to"))
    overrides: dict[tuple[int, int], tuple[dt.date, dt.date | None, str]] = {}
    if not isinstance(raw.get("overrides") or [], list):
        raise ConfigError(f"{src}: overrides must be a list")
    for i, o in enumerate(raw.get("overrides") or ()):
        if not isinstance(o, dict) or "release" not in o or "cutoff" not in o:
            raise ConfigError(f"{src}: overrides[{i}] needs 'release' and 'cutoff'")
        release = parse_release(str(o["release"]))
        rc = _date(o["rule_cutoff"], f"{src}: overrides[{i}].rule_cutoff") if o.get("rule_cutoff") else None
        overrides[release] = (_date(o["cutoff"], f"{src}: overrides[{i}].cutoff"), rc, str(o.get("note", "")))
    return ReleaseCalendar(
        name=str(raw.get("name", p.stem)),
        program_start=_date(raw["program_start"], f"{src}: program_start"),
        window_years=int(raw["window_years"]),
        first_release=parse_release(str(raw["first_release"])),
        last_release=parse_release(str(raw["last_release"])),
        holidays=frozenset(days),
        holiday_span=span,
        overrides=overrides,
        source=src,
    )
