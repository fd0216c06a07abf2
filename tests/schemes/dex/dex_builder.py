"""Hand-built DEX extracts for the rule tests: a few clients whose every count is known.

Every client has a valid SLK and complete demographics unless a test says otherwise;
assessments are dated on their session, as the loader requires.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.schemes.dex.config import load_dex_config
from toolkit.schemes.dex.tables import dex_data_from_tables

COMPLETE_DEMOGRAPHICS = {
    "indigenous_status": "neither",
    "country_of_birth": "1101",
    "main_language": "1201",
    "disability": "no",
}


class DexBuilder:
    def __init__(self):
        self.rows: dict[str, list[dict]] = {
            t: []
            for t in (
                "organisations",
                "outlets",
                "program_activities",
                "cases",
                "case_clients",
                "clients",
                "sessions",
                "session_clients",
                "score_assessments",
            )
        }
        self._session_date: dict[str, str] = {}
        self._case_clients: dict[str, list[str]] = {}
        self._n = 0

    def org(self, org_id: str, activities: tuple[str, ...] = ("ACT1",)) -> DexBuilder:
        self.rows["organisations"].append(
            {"organisation_id": org_id, "organisation_name": f"{org_id} Services", "state": "NSW"}
        )
        self.rows["outlets"].append(
            {
                "outlet_id": f"OUT-{org_id}",
                "organisation_id": org_id,
                "outlet_name": f"{org_id} outlet",
                "state": "NSW",
                "postcode": "2000",
            }
        )
        known = {a["activity_id"] for a in self.rows["program_activities"]}
        for a in activities:
            if a not in known:
                self.rows["program_activities"].append(
                    {"activity_id": a, "program": "Families and Children", "activity_name": f"Activity {a}"}
                )
        return self

    def client(
        self,
        client_id: str,
        org: str = "ORG1",
        *,
        family: str | None = "Smith",
        given: str | None = "John",
        birth_date: str | None = "1980-05-06",
        sex: str | None = "male",
        slk: str | None = None,
        estimate: bool = False,
        **demographics,
    ) -> DexBuilder:
        self.rows["clients"].append(
            {
                "client_id": client_id,
                "organisation_id": org,
                "given_name": given,
                "family_name": family,
                "slk": slk,
                "birth_date": birth_date,
                "birth_date_is_estimate": estimate,
                "sex": sex,
                "consent_to_share_details": True,
                "consent_for_research": False,
                **COMPLETE_DEMOGRAPHICS,
                **demographics,
            }
        )
        return self

    def case(
        self, case_id: str, clients: list[str], org: str = "ORG1", activity: str = "ACT1", created: str = "2022-07-01"
    ) -> DexBuilder:
        self.rows["cases"].append(
            {
                "case_id": case_id,
                "outlet_id": f"OUT-{org}",
                "activity_id": activity,
                "created_date": created,
                "unidentified_clients": 0,
            }
        )
        self.rows["case_clients"] += [{"case_id": case_id, "client_id": c} for c in clients]
        self._case_clients[case_id] = list(clients)
        return self

    def session(
        self, session_id: str, case_id: str, date: str, clients: list[str] | None = None, unidentified: int = 0
    ) -> DexBuilder:
        self.rows["sessions"].append(
            {
                "session_id": session_id,
                "case_id": case_id,
                "session_date": date,
                "service_type": "counselling",
                "unidentified_clients": unidentified,
            }
        )
        for c in clients if clients is not None else self._case_clients[case_id]:
            self.rows["session_clients"].append({"session_id": session_id, "client_id": c})
        self._session_date[session_id] = date
        return self

    def score(
        self,
        session_id: str,
        client_id: str | None,
        score_type: str,
        domain: str,
        score: int,
        phase: str = "pre",
        assessment_id: str | None = None,
        date: str | None = None,
    ) -> DexBuilder:
        self._n += 1
        self.rows["score_assessments"].append(
            {
                "assessment_id": assessment_id or f"A{self._n:04d}",
                "session_id": session_id,
                "client_id": client_id,
                "score_type": score_type,
                "domain": domain,
                "phase": phase,
                "score": score,
                "assessment_date": date or self._session_date[session_id],
            }
        )
        return self

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {}
        for t, rows in self.rows.items():
            df = pd.DataFrame(rows)
            if t == "score_assessments" and df.empty:
                df = pd.DataFrame(
                    columns=[
                        "assessment_id",
                        "session_id",
                        "client_id",
                        "score_type",
                        "domain",
                        "phase",
                        "score",
                        "assessment_date",
                    ]
                )
            for c in ("created_date", "session_date", "assessment_date", "birth_date"):
                if c in df.columns:
                    df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
            out[t] = df
        return out

    def data(self, config=None):
        return dex_data_from_tables(self.tables(), config or load_dex_config())

    def write(self, folder: Path) -> Path:
        """Write CSV files (text, as a provider's extract would arrive)."""
        folder.mkdir(parents=True, exist_ok=True)
        for t, df in self.tables().items():
            df.to_csv(folder / f"{t}.csv", index=False, date_format="%Y-%m-%d")
        return folder
