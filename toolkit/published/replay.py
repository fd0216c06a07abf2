"""Replaying a publication's rules: the publishing rules applied to one published release, with the
release before it (imported) as the previous release, and the outcome compared with what was published.

The published release's own numbers are taken as its calculated ratings: an unflagged number is a
rating its entity earned (``meets_minimum``), a substituted site and "Not available" earned none, and
"New Site" / "New Contract" entities are young (0 months). :func:`replay` runs
:func:`toolkit.scoring.rules.publish` on those facts and :func:`agreement` counts, per class of
(published status, replayed status), how many rows get the status and stars the department
published.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.published.history import PublicationFormat, load_format, previous_ratings
from toolkit.published.read import Publication
from toolkit.scoring.config import MethodConfig
from toolkit.scoring.rules import publish

KEY = ["program", "level", "entity_id"]


@dataclass
class Replay:
    """Each row of the published release with its published and replayed status and stars."""

    release: str
    previous: str
    rows: pd.DataFrame  # KEY, parent_id, status/stars published and replayed, agree, row

    def agreement(self) -> pd.DataFrame:
        """Rows per (published status, replayed status) with whether status and stars agree."""
        r = self.rows
        return (
            r.groupby(["status_published", "status_replayed", "agree"], dropna=False)
            .size()
            .rename("rows")
            .reset_index()
            .sort_values(["agree", "rows"], ascending=[True, False])
            .reset_index(drop=True)
        )


def _facts(published: pd.DataFrame) -> pd.DataFrame:
    """The publishing rules' input from a published release (see the module docstring)."""
    status = published["status"].to_numpy()
    earned = status == "rated"
    young = np.isin(status, ["new_site", "new_contract"])
    return pd.DataFrame(
        {
            "program": published["program"].to_numpy(),
            "level": published["level"].to_numpy(),
            "entity_id": published["entity_id"].to_numpy(),
            "parent_id": published["parent_id"].to_numpy(),
            "months_operating": np.where(young, 0.0, np.nan),
            "meets_minimum": earned,
            "calc_star_percentage": np.where(earned, published["star_percentage"].to_numpy(float), np.nan),
            "calc_stars": np.where(earned, published["stars"].to_numpy(float), 0).astype(int),
        }
    )


def replay(
    pub: Publication, release: str, previous: str, method: MethodConfig, fmt: PublicationFormat | None = None
) -> Replay:
    """The publishing rules on ``release`` of ``pub`` with ``previous`` (imported) as the previous release."""
    fmt = fmt or load_format()
    published = previous_ratings(pub, release, fmt).table
    prev = previous_ratings(pub, previous, fmt).table
    out = publish(
        _facts(published), method, prev[["program", "level", "entity_id", "status", "star_percentage", "stars"]]
    )
    rows = published[[*KEY, "parent_id", "row"]].copy()
    rows["status_published"] = published["status"].to_numpy()
    rows["stars_published"] = published["stars"].to_numpy(float)
    rows["status_replayed"] = out["status"].to_numpy()
    rows["stars_replayed"] = out["stars"].to_numpy(float)
    prev_status = prev.set_index(KEY)["status"].reindex(pd.MultiIndex.from_frame(rows[KEY]))
    rows["status_previous"] = prev_status.to_numpy()
    same_stars = (rows["stars_published"] == rows["stars_replayed"]) | (
        rows["stars_published"].isna() & rows["stars_replayed"].isna()
    )
    rows["agree"] = (rows["status_published"] == rows["status_replayed"]) & same_stars
    return Replay(release=release, previous=previous, rows=rows)
