"""A job folder's record of itself (``release.json``, ``run.json``) and the status lines of its pages.

The record is written when the folder is created, with ``status: running``, and again when the run
closes, whatever the outcome, with the status the run ends with (``passed``, ``failed`` with the
failed checks, ``killed`` or ``failed`` with the error): it is the last file written, and it says
what the tracked run says. ``passed`` is written only once the run has ended FINISHED in the store
(a failure may be said at once). Pages that show the status (a release's ``report.md``) carry one line,
``- status: **...**`` (:func:`status_line`), which is rewritten with it. A job killed with SIGKILL
closes nothing; the next sweep finds its folder (the run's ``toolkit.folder`` tag) and closes the
record for it (:func:`close_record`). Every write replaces the file whole (write, then rename), so a
record is never half written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Run tags that say where a job's folder and its record are, and whether the record is closed yet.
FOLDER_TAG = "toolkit.folder"
RECORD_TAG = "toolkit.record"
PAGES_TAG = "toolkit.status_pages"
RECORD_STATE_TAG = "toolkit.record_state"  # open, then closed
#: The start of the status line of a page (Markdown list item).
STATUS_PREFIX = "- status: "
_SHOWN = {"passed": "passed", "failed": "FAILED", "killed": "KILLED", "running": "running"}


def status_line(status: str, error: str | None = None) -> str:
    """``- status: **passed**``, ``- status: **FAILED** (ValueError: ...)``, ``- status: **running** (...)``."""
    line = f"{STATUS_PREFIX}**{_SHOWN.get(status, status)}**"
    if status == "running":
        return line + " (the run has not closed: this page is not final)"
    if error:
        first = error.strip().splitlines()[0] if error.strip() else error
        line += f" ({first[:300]})"
    return line


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file beside it, then a rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_record(path: Path, record: Mapping[str, Any]) -> Path:
    """``record`` as sorted, indented JSON with one trailing newline, replacing ``path`` whole."""
    replace_file(path, json.dumps(dict(record), indent=2, sort_keys=True, default=str) + "\n")
    return path


def closed_files(
    folder: Path,
    record_name: str,
    status: str,
    *,
    failed_checks: Sequence[str] = (),
    error: str | None = None,
    pages: Sequence[str] = (),
    base: Mapping[str, Any] | None = None,
    keep_checks: bool = False,
) -> dict[str, str]:
    """The new text of each status page and of the record once the run ended with ``status``, by name
    (relative to ``folder``; pages first, the record last), written nowhere yet.

    ``base`` is the record's content (default: the file's, when it exists and reads); the status fields
    replace whatever it says (``keep_checks``: the failed checks it lists stay). A page that does not
    exist, or has no status line, is left out."""
    path = folder / record_name
    if base is None:
        try:
            base = json.loads(path.read_text())
        except (OSError, ValueError):
            base = {}
    record = {k: v for k, v in dict(base or {}).items() if k not in ("status", "failed_checks", "error")}
    record["status"] = status
    kept = (base or {}).get("failed_checks") if keep_checks else None
    record["failed_checks"] = list(kept) if isinstance(kept, list) else list(failed_checks)
    if error:
        record["error"] = error
    files: dict[str, str] = {}
    line = status_line(status, error)
    for name in pages:
        page = folder / name
        if not page.is_file():
            continue
        lines = page.read_text().split("\n")
        at = next((i for i, old in enumerate(lines) if old.startswith(STATUS_PREFIX)), None)
        if at is not None:
            lines[at] = line
            files[name] = "\n".join(lines)
    files[record_name] = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
    return files


def write_files(folder: Path, files: Mapping[str, str]) -> list[Path]:
    """Replace each named file of ``folder`` whole, in order (the record last); returns the paths."""
    written = []
    for name, text in files.items():
        replace_file(folder / name, text)
        written.append(folder / name)
    return written


def close_record(
    folder: Path,
    record_name: str,
    status: str,
    *,
    failed_checks: Sequence[str] = (),
    error: str | None = None,
    pages: Sequence[str] = (),
    base: Mapping[str, Any] | None = None,
    keep_checks: bool = False,
) -> list[Path]:
    """Give the folder's record (and the status line of each page) the status the run ended with
    (:func:`closed_files`, written at once). Returns the files written, pages first and the record last."""
    files = closed_files(
        folder,
        record_name,
        status,
        failed_checks=failed_checks,
        error=error,
        pages=pages,
        base=base,
        keep_checks=keep_checks,
    )
    return write_files(folder, files)
