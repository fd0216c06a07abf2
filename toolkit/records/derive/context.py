"""What every measure's rules share: the window, the participant-site commencements with their
durations, and the claims with their validity, all as at the release's claim cut-off."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.records.derive.claims import earliest
from toolkit.records.derive.events import Events
from toolkit.records.derive.ledger import Funnel, Ledger
from toolkit.records.derive.params import DeriveParams

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

RECORD_COLUMNS = ["measure", "pkey", "sid", "numerator", "tia", "rec_c", "anchor", "lodged", "verif"]
LINK_COLUMNS = ["claim", "measure", "pkey", "sid", "lodged"]


@dataclass
class Context:
    """Inputs of the measure rules (integer days; see :mod:`toolkit.records.derive.events`)."""

    params: DeriveParams
    start: int
    cutoff: int
    ev: Events
    st: pd.DataFrame  # commencements known at the cut-off, with chain and duration columns
    claims: pd.DataFrame  # claims with 'ok' (passes every claim rule), 'sid', 'org', placement columns
    placements: pd.DataFrame  # placements known at the cut-off
    ledger: Ledger
    # candidate numerator claims per measure (for the reconciliation)
    links: list[pd.DataFrame] = field(default_factory=list)
    set_aside: list[np.ndarray] = field(default_factory=list)  # claim row labels already excluded by a measure's rule

    @property
    def n_people(self) -> int:
        return len(self.ev.people)

    def day(self, d: dt.date) -> int:
        """A date of the config as an integer day."""
        return int(np.datetime64(d, "D").astype("int64"))

    def weeks(self, w: int) -> int:
        return self.params.days(w)

    def ok_claims(self, types: Iterable[str]) -> pd.DataFrame:
        """Claims passing every claim rule, of the given types."""
        c = self.claims
        return c.loc[c["ok"].to_numpy() & c["ctype"].isin(list(types)).to_numpy()]

    def achieved_by_org(self, types: Iterable[str]) -> pd.DataFrame:
        """(pkey, org) pairs with a counted outcome of one of ``types`` lodged by the cut-off."""
        c = self.ok_claims(types)
        return c[["pkey", "org"]].drop_duplicates()

    def first_lodged_per_pkey(self, types: Iterable[str]) -> np.ndarray:
        c = self.ok_claims(types)
        return earliest(c["pkey"].to_numpy(), c["lodged"].to_numpy(), self.n_people)

    def count_once(self, f: Funnel, site: np.ndarray, contract: np.ndarray, latest_col: str = "c") -> None:
        """Keep one record per participant-period, measure and entity among the candidates still in
        ``f`` (``site`` and ``contract`` aligned with ``f.cand``); the entity is the site or the
        contract as ``records.one_record_per`` says, and the funnel's rule is ``once_per_<entity>``."""
        per = self.params.records.one_record_per
        entity = np.asarray(site if per == "site" else contract)
        keep = np.ones(len(f.cand), bool)
        alive = np.flatnonzero(f.alive)
        keep[alive] = one_record_per_entity(f.cand.iloc[alive], entity[alive], latest_col)
        f.apply(f"once_per_{per}", keep)

    def add_links(self, claims: pd.DataFrame, measure: str, sid: np.ndarray) -> None:
        self.links.append(
            pd.DataFrame(
                {
                    "claim": claims.index.to_numpy(),
                    "measure": measure,
                    "pkey": claims["pkey"].to_numpy(),
                    "sid": np.asarray(sid, dtype=np.int64),
                    "lodged": claims["lodged"].to_numpy(),
                }
            )
        )


def pair_flag(st: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """True for commencements whose (pkey, org) is among ``pairs``."""
    if pairs.empty:
        return np.zeros(len(st), bool)
    idx = pd.MultiIndex.from_frame(pairs[["pkey", "org"]])
    return idx.get_indexer(pd.MultiIndex.from_arrays([st["pkey"], st["org"]])) >= 0


def first_claim_per_stint(claims: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per commencement: earliest lodgement among ``claims`` (mapped by 'sid'), and whether any."""
    lod = earliest(claims["sid"].to_numpy(), claims["lodged"].to_numpy(), n)
    from toolkit.records.derive.events import OPEN

    return lod, lod < OPEN


def one_record_per_entity(cand: pd.DataFrame, entity: np.ndarray, latest_col: str) -> np.ndarray:
    """Keep one record per participant-period, entity (site or contract) and measure: the one in the
    numerator if any, else the one with the latest ``latest_col``. Returns a keep mask aligned with
    ``cand``.

    Per site (``records.one_record_per: site``), a participant who came back to a site, or tracked
    two anchors there, has one record at it (the measure records' key; Table 2 note 1); per
    contract, the earlier releases' reading of Attachment A ("counted once in the applicable
    denominator at the Contract level"), which drops the losing site's record that Table 9 keeps.
    """
    if cand.empty:
        return np.zeros(0, bool)
    df = pd.DataFrame(
        {
            "pkey": cand["pkey"].to_numpy(),
            "entity": entity,
            "measure": cand["measure"].to_numpy(),
            "num": cand["numerator"].to_numpy(),
            "t": cand[latest_col].to_numpy(),
            "i": np.arange(len(cand)),
        }
    )
    df = df.sort_values(
        ["measure", "pkey", "entity", "num", "t", "i"],
        ascending=[True, True, True, False, False, False],
        kind="stable",
    )
    first = ~df.duplicated(["measure", "pkey", "entity"], keep="first").to_numpy()
    keep = np.zeros(len(cand), bool)
    keep[df["i"].to_numpy()[first]] = True
    return keep
