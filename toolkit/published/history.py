"""A published release as the previous release: the ratings table the publishing rules read.

:func:`previous_ratings` turns one release of a :class:`~toolkit.published.read.Publication` into
the table ``toolkit release --previous`` and ``toolkit score --previous`` take (``program, level,
entity_id, status, star_percentage, stars``; validated by
:func:`toolkit.scoring.validate.validate_previous`), with ``parent_id``, ``substituted``,
``status_source`` and the file's ``row`` beside them.

- Status words map through ``configs/published/<name>.yaml`` ("Not available" ->
  ``insufficient_data``, "New Site" -> ``new_site``, "New Contract" -> ``new_contract``); any
  other text is an :class:`~toolkit.errors.InputError` naming the row and the value.
- A number is a published rating: ``substituted`` where the file flags the site, ``rated``
  otherwise. A release printed without the substituted column has its substitution inferred:
  a site showing exactly its contract's stars and star percentage is ``substituted``, with
  ``status_source = inferred``.
- Site ids are ``<contract id>-<site code>``, the way ``data_contracts/sites.yaml`` keys sites.

What a publication cannot tell (:data:`CANNOT_TELL`) is listed in the import's note, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.config import FrozenConfig, load_yaml, resolve_config, validate_model
from toolkit.errors import InputError
from toolkit.published.read import Publication
from toolkit.scoring.validate import validate_previous

#: What no publication says, listed in every import's note.
CANNOT_TELL = (
    "carried forward: a published number may be the previous release's rating carried forward "
    "(the publication does not flag it); it is read as rated",
    "organisations: the publication has no organisation rows; the publishing rules find no previous "
    "organisation rating",
    "months operating: new sites and contracts are known only by their status word",
    "substitution of a single-site contract's site: its own rating equals its contract's by the method, so "
    "where substitution is inferred such a site reads as substituted",
)


class PublicationFormat(FrozenConfig):
    """How a publication reads: program, level and status words -> ours (``configs/published/``)."""

    name: str
    programs: dict[str, str]
    levels: dict[str, str]
    status_words: dict[str, str]
    substituted_flag: str = "Y"
    infer_substitution: bool = True


def load_format(name: str | Path = "des_star_ratings") -> PublicationFormat:
    """A publication format from ``configs/published/<name>.yaml`` (or a path)."""
    path = resolve_config(name, "published")
    return validate_model(PublicationFormat, load_yaml(path), path)


@dataclass
class PreviousRatings:
    """One imported release: the previous-ratings ``table`` and the note's facts."""

    release: str
    table: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _mapped(values: pd.Series, mapping: dict[str, str], what: str, rows: pd.Series, path: Path) -> np.ndarray:
    """``values`` through ``mapping``; an unknown value is an error naming its rows and the value."""
    out = values.map(mapping)
    bad = out.isna() & values.notna()
    if bad.any():
        first = values[bad].iloc[0]
        raise InputError(
            f"{path.name}: {int(bad.sum())} row(s) with an unknown {what}, e.g. row {int(rows[bad].iloc[0])}: "
            f"{first!r} (known: {', '.join(mapping)})"
        )
    if values.isna().any():
        raise InputError(f"{path.name}: row {int(rows[values.isna()].iloc[0])} has no {what}")
    return out.to_numpy(dtype=object)


def _ratings(
    pct: pd.Series, rating: pd.Series, fmt: PublicationFormat, rows: pd.Series, path: Path, release: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: present in the release, status (None for a number), star percentage and stars."""
    text = rating.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    text = text.where(text != "", None)
    pct_num = pd.to_numeric(pct, errors="coerce")
    stars_num = pd.to_numeric(text, errors="coerce")
    word = text.notna() & stars_num.isna()
    status = np.full(len(text), None, dtype=object)
    if word.any():
        status[word.to_numpy()] = _mapped(text[word], fmt.status_words, "status word", rows[word], path)
    number = stars_num.notna()
    where = f"{path.name} ({release})"
    bad_stars = number & ~stars_num.isin([1, 2, 3, 4, 5])
    bad_pct = number & (pct_num.isna() | (pct_num != pct_num.round()))
    for bad, what in ((bad_stars, "stars outside 1-5"), (bad_pct, "a rating without a whole star percentage")):
        if bad.any():
            raise InputError(f"{where}: {int(bad.sum())} row(s) with {what}, e.g. row {int(rows[bad].iloc[0])}")
    present = (number | word).to_numpy()
    return present, status, pct_num.where(number).to_numpy(float), stars_num.where(number).to_numpy(float)


def previous_ratings(pub: Publication, release: str, fmt: PublicationFormat | None = None) -> PreviousRatings:
    """One release of ``pub`` as the previous-ratings table (see the module docstring)."""
    fmt = fmt or load_format()
    r = pub.rows
    pct_cells, rating_cells = pub.cells(release)
    newest = release == pub.releases[0]
    flagged = r["substituted_flag"].fillna("").astype(str).str.strip() == fmt.substituted_flag
    program = _mapped(r["program_name"], fmt.programs, "program", r["row"], pub.path)
    level = _mapped(r["level"], fmt.levels, "level", r["row"], pub.path)
    missing_site = (level == "site") & r["site_code"].isna().to_numpy()
    if missing_site.any():
        raise InputError(f"{pub.path.name}: site row {int(r['row'][missing_site].iloc[0])} has no Site Code")
    contract = r["contract_id"].astype(str).to_numpy()
    site_id = (r["contract_id"].astype(str) + "-" + r["site_code"].astype(str)).to_numpy()
    entity = np.where(level == "site", site_id, contract)
    parent = np.where(level == "site", contract, r["organisation_id"].astype(str).to_numpy())
    present, status, pct, stars = _ratings(pct_cells, rating_cells, fmt, r["row"], pub.path, release)
    t = pd.DataFrame(
        {
            "program": program,
            "level": level,
            "entity_id": entity,
            "parent_id": parent,
            "status": status,
            "star_percentage": pct,
            "stars": stars,
            "row": r["row"].to_numpy(),
        }
    )
    numeric = t["status"].isna().to_numpy()
    source = np.full(len(t), "published", dtype=object)
    if newest:
        substituted = numeric & (level == "site") & flagged.to_numpy()
    elif fmt.infer_substitution:
        substituted = numeric & (level == "site") & _same_as_contract(t)
        source[substituted] = "inferred"
    else:
        substituted = np.zeros(len(t), dtype=bool)
    t["status"] = np.where(numeric, np.where(substituted, "substituted", "rated"), t["status"].to_numpy())
    t["substituted"] = substituted
    t["status_source"] = source
    t = t[present].reset_index(drop=True)
    validate_previous(t, table=f"{pub.path.name} ({release})")
    counts = {f"{lv}.{st}": int(n) for (lv, st), n in t.groupby(["level", "status"]).size().items()}
    counts["rows"] = len(t)
    counts["absent"] = int((~present).sum())
    counts["substitution_inferred"] = int((t["status_source"] == "inferred").sum())
    return PreviousRatings(release=release, table=t, counts=counts, notes=list(CANNOT_TELL))


def _same_as_contract(t: pd.DataFrame) -> np.ndarray:
    """Site rows whose stars and star percentage equal their contract's in the same release."""
    contracts = t[t["level"] == "contract"].drop_duplicates(["program", "entity_id"])
    lookup = contracts.set_index(["program", "entity_id"])[["star_percentage", "stars"]]
    key = pd.MultiIndex.from_arrays([t["program"].to_numpy(), t["parent_id"].to_numpy()])
    got = lookup.reindex(key)
    same = (got["star_percentage"].to_numpy() == t["star_percentage"].to_numpy()) & (
        got["stars"].to_numpy() == t["stars"].to_numpy()
    )
    return np.asarray(same, dtype=bool)
