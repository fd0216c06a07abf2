"""``toolkit published import``: a publication's release as a previous-ratings table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from toolkit.output import prepare_folder
from toolkit.published.history import PreviousRatings, load_format, previous_ratings
from toolkit.published.read import read_publication

#: Columns of the written table: what the publishing rules read, then where each row came from.
COLUMNS = [
    "program",
    "level",
    "entity_id",
    "parent_id",
    "status",
    "star_percentage",
    "stars",
    "substituted",
    "status_source",
    "row",
]


def note_text(imp: PreviousRatings, source: Path) -> str:
    """The import's note: what was read, how many of each status, and what a publication cannot tell."""
    lines = [
        f"# {imp.release} imported from {source.name}",
        "",
        f"{imp.counts['rows']:,} rows ({imp.counts['absent']:,} rows of the file are not in this release).",
        "",
    ]
    lines += [f"- {k}: {v:,}" for k, v in sorted(imp.counts.items()) if "." in k]
    if imp.counts["substitution_inferred"]:
        lines += [
            "",
            f"Substitution inferred (the release prints no substituted flag): "
            f"{imp.counts['substitution_inferred']:,} sites show exactly their contract's stars and star "
            "percentage and are read as substituted (`status_source: inferred`).",
        ]
    lines += ["", "What the publication cannot tell (not guessed):", ""] + [f"- {n}" for n in imp.notes]
    return "\n".join(lines) + "\n"


def run_import(args: argparse.Namespace) -> int:
    pub = read_publication(args.file)
    imp = previous_ratings(pub, args.release, load_format(args.format))
    out = prepare_folder(Path(args.out).resolve(), overwrite=args.overwrite)
    imp.table[COLUMNS].to_csv(out / "previous_ratings.csv", index=False)
    (out / "import_note.md").write_text(note_text(imp, pub.path))
    (out / "import.json").write_text(
        json.dumps(
            {
                "source": str(pub.path.resolve()),
                "release": imp.release,
                "releases_in_file": list(pub.releases),
                "counts": imp.counts,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    print(f"{imp.release}: {imp.counts['rows']:,} ratings rows -> {out / 'previous_ratings.csv'}")
    print(f"note: {out / 'import_note.md'}")
    return 0


def run_published(args: argparse.Namespace) -> int:
    """``toolkit published ACTION``."""
    return {"import": run_import}[args.published_command](args)
