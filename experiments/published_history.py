"""The published record as history: the publishing rules replayed on the DES Star Ratings of March 2020.

Imports the December 2019 columns of the department's file as the previous release, takes March 2020's
published numbers as the calculated ratings, applies the publishing rules (``configs/methods/des_2018``)
and counts how many of the 8,514 March rows get the status and stars the department published, with
every class of difference. It also measures the two readings the publication contradicts: December
numbers all read as rated (no substitution inferred), and new sites substituted until 12 months.

    python experiments/published_history.py [--file tests/data/published/des-star-ratings-march-2020.xlsx]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.published import load_format, previous_ratings, read_publication
from toolkit.published.replay import replay
from toolkit.scoring import load_method

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "published" / "des-star-ratings-march-2020.xlsx"


def earlier_new_site_reading(method):  # type: ignore[no-untyped-def]
    d = method.model_dump()
    d["new_entities"]["site"] = {"calculated_from_months": 9, "published_from_months": 12}
    d["publishing"]["substitute_site_statuses"] = ["new_site", "insufficient_data"]
    d["publishing"]["new_contract_sites"] = False
    return type(method).model_validate(d)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default=str(DEFAULT))
    ap.add_argument("--release", default="March 2020")
    ap.add_argument("--previous", default="December 2019")
    args = ap.parse_args()
    pub = read_publication(args.file)
    method = load_method("des_2018")
    for release in pub.releases:
        imp = previous_ratings(pub, release)
        print(
            f"{release}: {imp.counts['rows']:,} rows; "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(imp.counts.items()) if "." in k)
            + f"; substitution inferred on {imp.counts['substitution_inferred']:,}"
        )
    runs = {
        "as implemented (substitution inferred, new sites unrated until 9 months)": (method, load_format()),
        "December numbers all read as rated": (method, load_format().model_copy(update={"infer_substitution": False})),
        "new sites substituted until 12 months (earlier reading)": (earlier_new_site_reading(method), load_format()),
    }
    for label, (m, fmt) in runs.items():
        r = replay(pub, args.release, args.previous, m, fmt)
        n, ok = len(r.rows), int(r.rows["agree"].sum())
        print(f"\n{label}: {ok:,} of {n:,} {args.release} rows get the published status and stars ({ok / n:.2%})")
        tab = r.agreement()
        print(tab.to_string(index=False))
        off = r.rows[~r.rows["agree"]]
        if len(off):
            by = off.groupby(["status_published", "status_replayed", "status_previous"], dropna=False).size()
            print("differences by previous status:\n" + by.to_string())


if __name__ == "__main__":
    main()
