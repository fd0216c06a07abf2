"""Reading a DES Star Ratings publication as the department publishes it.

The shipped March 2020 file (``.xlsx``, sheet ``Star Ratings``) has a title row, a row naming
the releases over their two columns each (``March 2020``, ``December 2019``), and a header row:

    Program | Level | Contract ID | Org Cd | Org Name | Site Code | Site Location | ESA Cd | ESA Name |
    LMR Sort | LMR Name | State | Speciality Description | Substituted Star Rating | (blank) |
    Star Percentage | Star Rating | Star Percentage | Star Rating

A release's ``Star Rating`` holds the stars (1-5) or a status word ("Not available", "New Site",
"New Contract"); its ``Star Percentage`` is blank where the rating is a word; both blank: the
entity was not in that release. ``Substituted Star Rating`` (``Y``) belongs to the newest release.

The same layout saved as CSV (the rows as they are, or one header row with ``<release> Star
Percentage`` / ``<release> Star Rating`` columns) reads the same way. Anything else is an
:class:`~toolkit.errors.InputError` naming what is missing.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from toolkit.errors import InputError

#: Identifying columns of a publication, as named in the department's header row, and our names.
ID_COLUMNS = {
    "Program": "program_name",
    "Level": "level",
    "Contract ID": "contract_id",
    "Org Cd": "organisation_id",
    "Org Name": "organisation_name",
    "Site Code": "site_code",
    "Site Location": "site_location",
    "ESA Cd": "esa_id",
    "ESA Name": "esa_name",
    "LMR Sort": "lmr_sort",
    "LMR Name": "lmr_name",
    "State": "state",
    "Speciality Description": "specialty",
    "Substituted Star Rating": "substituted_flag",
}
REQUIRED = ("Program", "Level", "Contract ID", "Site Code")
SHEET = "Star Ratings"


@dataclass(frozen=True)
class Publication:
    """A publication: one row per contract and site (``rows``, our column names, ``row`` = the row number in
    the file, 1-based) and per release its raw ``<release>|pct`` and ``<release>|rating`` cells."""

    path: Path
    rows: pd.DataFrame
    releases: tuple[str, ...]  # newest first, as the file orders them

    def cells(self, release: str) -> tuple[pd.Series, pd.Series]:
        """The raw star percentage and star rating cells of ``release``."""
        if release not in self.releases:
            raise InputError(
                f"{self.path.name}: no release {release!r} in the publication (it has: {', '.join(self.releases)})"
            )
        return self.rows[f"{release}|pct"], self.rows[f"{release}|rating"]


def _norm(text: object) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def _grid(path: Path) -> pd.DataFrame:
    """The file's cells as strings-or-numbers with no header interpretation."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            with warnings.catch_warnings(), pd.ExcelFile(path, engine="openpyxl") as book:
                warnings.filterwarnings("ignore", message="Cannot parse header or footer")
                sheet = SHEET if SHEET in book.sheet_names else None
                if sheet is None:
                    raise InputError(
                        f"{path.name}: no sheet {SHEET!r} (sheets: {', '.join(map(str, book.sheet_names))})"
                    )
                return pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
        if suffix == ".csv":
            return pd.read_csv(path, header=None, dtype=object, keep_default_na=False, encoding="utf-8-sig")
    except InputError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path.name}: cannot be read as a publication ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # openpyxl's own errors for a damaged or foreign file
        raise InputError(f"{path.name}: cannot be read as a publication ({type(exc).__name__})") from None
    raise InputError(f"{path.name}: a publication is an .xlsx or .csv file")


def _header_row(grid: pd.DataFrame, path: Path) -> int:
    for i in range(min(len(grid), 30)):
        names = {_norm(v) for v in grid.iloc[i].tolist()}
        if all(r in names for r in REQUIRED):
            return i
    raise InputError(f"{path.name}: no header row naming {', '.join(REQUIRED)} in its first 30 rows")


def _release_columns(grid: pd.DataFrame, h: int, path: Path) -> dict[str, tuple[int, int]]:
    """Per release, the column positions of its star percentage and star rating."""
    header = [_norm(v) for v in grid.iloc[h].tolist()]
    above = [_norm(v) for v in grid.iloc[h - 1].tolist()] if h > 0 else [""] * len(header)
    out: dict[str, tuple[int, int]] = {}
    current = ""
    for j, name in enumerate(header):
        label = above[j] if above[j] not in ("", "nan") else current
        m = None if name in ID_COLUMNS else re.fullmatch(r"(.+?) (Star Percentage|Star Rating)", name)
        if m:  # flat layout: "<release> Star Percentage"
            label, name = m.group(1), m.group(2)
        if name in ("Star Percentage", "Star Rating"):
            current = label
            if not label:
                raise InputError(f"{path.name}: column {j + 1} ({name}) names no release")
            pct, rating = out.get(label, (-1, -1))
            out[label] = (j, rating) if name == "Star Percentage" else (pct, j)
    bad = [r for r, (p, s) in out.items() if p < 0 or s < 0]
    if not out or bad:
        raise InputError(
            f"{path.name}: each release needs a Star Percentage and a Star Rating column"
            + (f" ({', '.join(bad)} lacks one)" if bad else " (none found)")
        )
    return out


def read_publication(path: str | Path) -> Publication:
    """Read a DES Star Ratings publication (see the module docstring)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"publication {p} not found")
    grid = _grid(p)
    h = _header_row(grid, p)
    header = [_norm(v) for v in grid.iloc[h].tolist()]
    releases = _release_columns(grid, h, p)
    body = grid.iloc[h + 1 :]
    body = body[body.apply(lambda r: any(_norm(v) not in ("", "nan") for v in r), axis=1)]
    rows = pd.DataFrame({"row": body.index.to_numpy() + 1})
    for j, name in enumerate(header):
        if name in ID_COLUMNS:
            rows[ID_COLUMNS[name]] = [None if _norm(v) in ("", "nan") else _norm(v) for v in body.iloc[:, j]]
    for c in ID_COLUMNS.values():
        if c not in rows:
            rows[c] = None
    for release, (pj, sj) in releases.items():
        rows[f"{release}|pct"] = body.iloc[:, pj].to_numpy()
        rows[f"{release}|rating"] = body.iloc[:, sj].to_numpy()
    return Publication(path=p, rows=rows.reset_index(drop=True), releases=tuple(releases))
