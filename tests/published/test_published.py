"""``toolkit published import`` on the shipped March 2020 publication, and the publishing rules replayed on it.

The file (``tests/data/published/``) is the Department of Social Services' public release: one row per
contract and site, no participant data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from toolkit.cli import main
from toolkit.errors import InputError
from toolkit.published import load_format, previous_ratings, read_publication
from toolkit.published.replay import replay
from toolkit.records.aggregate import ENTITY_MEASURE_COLUMNS
from toolkit.scoring import load_method, score_entities
from toolkit.scoring.validate import validate_previous

FILE = Path(__file__).resolve().parents[1] / "data" / "published" / "des-star-ratings-march-2020.xlsx"


@pytest.fixture(scope="module")
def pub():
    return read_publication(FILE)


def test_the_file_has_both_releases_and_every_row(pub):
    assert pub.releases == ("March 2020", "December 2019")
    assert len(pub.rows) == 8514
    assert pub.rows["level"].value_counts().to_dict() == {"Site": 6636, "Contract": 1878}


def test_march_2020_statuses_as_published(pub):
    imp = previous_ratings(pub, "March 2020")
    c = imp.counts
    assert c["rows"] == 8514 and c["absent"] == 0
    assert (c["site.substituted"], c["site.new_site"], c["site.insufficient_data"]) == (2384, 192, 232)
    assert (c["contract.rated"], c["contract.insufficient_data"]) == (1720, 158)
    assert (imp.table["status_source"] == "published").all()
    site = imp.table.set_index("entity_id").loc["0212839K-MM37"]  # "Y" in the substituted column
    assert (site["status"], site["stars"], site["star_percentage"], site["parent_id"]) == (
        "substituted",
        5,
        48,
        "0212839K",
    )
    validate_previous(imp.table)  # what toolkit release --previous reads


def test_december_2019_substitution_is_inferred_and_recorded(pub):
    imp = previous_ratings(pub, "December 2019")
    t = imp.table
    assert imp.counts["absent"] == 92 and imp.counts["rows"] == 8422
    inferred = t[t["status_source"] == "inferred"]
    assert len(inferred) == imp.counts["substitution_inferred"] == 2628
    assert (inferred["status"] == "substituted").all() and (inferred["level"] == "site").all()
    contracts = t[t["level"] == "contract"].set_index("entity_id")
    parent = contracts.loc[inferred["parent_id"]]
    assert (parent["stars"].to_numpy() == inferred["stars"].to_numpy()).all()
    assert (parent["star_percentage"].to_numpy() == inferred["star_percentage"].to_numpy()).all()
    rated_sites = t[(t["level"] == "site") & (t["status"] == "rated")]
    assert (rated_sites["status_source"] == "published").all()
    assert any("carried forward" in n for n in imp.notes)  # what a publication cannot tell is said


def test_without_inference_every_december_number_is_rated(pub):
    fmt = load_format().model_copy(update={"infer_substitution": False})
    t = previous_ratings(pub, "December 2019", fmt).table
    assert not (t["status"] == "substituted").any() and (t["status_source"] == "published").all()


def test_the_publishing_rules_replay_march_2020(pub):
    """December 2019 as the previous release, March 2020's numbers as calculated: the rules give the
    department's status and stars on all rows but one (measured: 8,513 of 8,514)."""
    r = replay(pub, "March 2020", "December 2019", load_method("des_2018"))
    assert int(r.rows["agree"].sum()) == 8513
    off = r.rows[~r.rows["agree"]]
    # the one difference: site 0212288G-Z940, rated in December (-12, 3 stars) and below minimum data in
    # March by the file (flagged substituted), so the rules carry December forward; the department printed
    # it flagged substituted with 3 stars and 3%, which is neither its contract's 17% nor its December -12%
    assert off[["entity_id", "status_published", "status_replayed", "status_previous"]].values.tolist() == [
        ["0212288G-Z940", "substituted", "carried_forward", "rated"]
    ]
    assert off["stars_published"].iat[0] == off["stars_replayed"].iat[0] == 3


def test_each_reading_the_publication_contradicts_is_measured(pub):
    method = load_method("des_2018")
    no_inference = load_format().model_copy(update={"infer_substitution": False})
    r = replay(pub, "March 2020", "December 2019", method, no_inference)
    wrong = r.rows[~r.rows["agree"]]
    assert len(wrong) == 2113 and set(wrong["status_replayed"]) == {"carried_forward"}
    d = method.model_dump()
    d["new_entities"]["site"] = {"calculated_from_months": 9, "published_from_months": 12}
    d["publishing"]["substitute_site_statuses"] = ["new_site", "insufficient_data"]
    earlier = type(method).model_validate(d)
    r = replay(pub, "March 2020", "December 2019", earlier)
    off = r.rows[~r.rows["agree"]]
    assert int(((off["status_published"] == "new_site") & (off["status_replayed"] == "substituted")).sum()) == 187


def test_the_imported_table_feeds_toolkit_score(pub, tmp_path):
    """``toolkit score --previous`` accepts the imported table."""
    prev = previous_ratings(pub, "March 2020").table
    rows = []
    dms = prev[(prev["level"] == "contract") & (prev["program"] == "DMS")]
    for i, cid in enumerate(dms["entity_id"].head(4)):
        for m in ("full_13", "full_26", "pathway_26", "bonus_26", "full_52", "pathway_52"):
            rows.append(("DMS", "contract", cid, "", m, 40, 12, 10.0 + i, float("nan")))
    em = pd.DataFrame(
        rows,
        columns=ENTITY_MEASURE_COLUMNS,
    )
    out = score_entities(em, load_method("des_2018"), prev)
    assert (out["status"] == "rated").all() and out["stars"].notna().all()


def test_cli_import_writes_the_table_and_the_note(tmp_path, capsys):
    assert main(["published", "import", str(FILE), "--release", "December 2019", "--out", str(tmp_path / "d")]) == 0
    t = pd.read_csv(tmp_path / "d" / "previous_ratings.csv")
    assert len(t) == 8422 and list(t.columns[:7]) == [
        "program",
        "level",
        "entity_id",
        "parent_id",
        "status",
        "star_percentage",
        "stars",
    ]
    note = (tmp_path / "d" / "import_note.md").read_text()
    assert "2,628 sites" in note and "cannot tell" in note


def _csv_copy(pub, tmp_path: Path, status_word: str | None = None) -> Path:
    raw = pd.read_excel(FILE, sheet_name="Star Ratings", header=None, dtype=object)
    if status_word is not None:
        raw.iat[10, 16] = status_word
    p = tmp_path / "pub.csv"
    raw.to_csv(p, header=False, index=False)
    return p


def test_the_same_layout_as_csv_reads_the_same(pub, tmp_path):
    csv = read_publication(_csv_copy(pub, tmp_path))
    a = previous_ratings(pub, "March 2020").table
    b = previous_ratings(csv, "March 2020").table
    pd.testing.assert_frame_equal(a.drop(columns="row"), b.drop(columns="row"))


def test_an_unknown_status_word_names_the_row_and_value(pub, tmp_path):
    bad = read_publication(_csv_copy(pub, tmp_path, "Pending"))
    with pytest.raises(InputError, match=r"unknown status word, e\.g\. row 11: 'Pending'"):
        previous_ratings(bad, "March 2020")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("a,b\n1,2\n", "no header row naming"),
        ("Program,Level,Contract ID,Site Code\nDES-Disability Management Service,Contract,X1,\n", "Star Percentage"),
    ],
)
def test_a_file_that_is_not_a_publication_is_a_clear_error(tmp_path, content, match):
    p = tmp_path / "x.csv"
    p.write_text(content)
    with pytest.raises(InputError, match=match):
        read_publication(p)


def test_cli_errors_exit_2_without_traceback(tmp_path, capsys):
    code = main(["published", "import", str(FILE), "--release", "June 2020", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "no release 'June 2020'" in err and "Traceback" not in err
    (tmp_path / "damaged.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    assert (
        main(
            [
                "published",
                "import",
                str(tmp_path / "damaged.xlsx"),
                "--release",
                "March 2020",
                "--out",
                str(tmp_path / "y"),
            ]
        )
        == 2
    )
