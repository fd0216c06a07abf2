"""Regenerate, or check, the README's example outputs from the commands that print them.

    python experiments/readme_examples.py            # rewrite the example blocks of README.md
    python experiments/readme_examples.py --check    # exit 1 naming every block that differs, 0 if none

README.md marks each generated block with two HTML comment lines (invisible on GitHub)::

    <!-- example: NAME -->
    ...generated text, fences included...
    <!-- /example -->

and this script owns everything between them. The blocks (``BLOCKS``):

- ``demo``: what ``./run demo`` (``toolkit demo``) prints on stdout;
- ``reproduce``: ``toolkit reproduce RUN_ID`` of that demo release, its one-line verdict;
- ``predict``: ``toolkit predict --model des-ess-full_26 --data <demo world> --out scores.csv`` with the
  champion the demo release registered, its one-line summary;
- ``compare``: ``toolkit compare A B``, A the demo release, B the same world under the interim
  weights (``configs/releases/demo_interim.yaml``), trimmed.

The commands run exactly as the README describes them, as ``python -m toolkit ...`` subprocesses
of this interpreter from the repository root, in a fresh temporary folder that stands in for
the repository's ``worlds/`` and ``mlruns/``: the demo world (``configs/releases/demo.yaml``:
small scale, its seed) is written to ``<tmp>/worlds/demo-small-seed2020`` and every run is
tracked in ``<tmp>/mlruns/mlflow.db`` (``MLFLOW_TRACKING_URI``), so nothing reaches the
repository's ``mlruns/``. ``toolkit demo`` writes its release folder under the repository's
``releases/`` (ignored by git), as ``./run demo`` does; the script removes the folder it made.
The interim release and the comparison write under ``<tmp>``. Only stdout goes into the README
(progress lines go to stderr).

``toolkit reproduce`` refuses to run when the working tree has uncommitted changes to tracked
files (code drift). On such a tree the script passes ``--allow-code-drift`` and says so on
stderr; the verdict line is the same as on a clean tree. Commit first for a clean run.

Normalisation (:func:`normalise`), so that regenerating twice gives the same README:

- paths under the temporary folder or the repository are shown relative to the repository
  (``releases/...``, ``worlds/...``), except inside a ``sqlite:///`` URI, where the folder shows
  as ``<repo>`` (``sqlite:///<repo>/mlruns/mlflow.db``, the default store);
- a release folder's time and run id: ``demo-<time>-<run>``; a run id (32 hex digits): ``<run id>``;
  other UTC times (``20250101T120000Z``): ``<time>``; a duration such as ``4.3s``: ``<seconds>s``;
- trailing spaces are removed from every line.

Trimming (:func:`trim`), as the README showed these blocks before they were generated: stdout is
cut into sections at blank lines; :data:`COMPARE_KEEP` says which lines of which sections are
kept (a section whose first line matches no rule is dropped whole); blank lines are dropped; each
run of dropped lines after the first kept line becomes one ``...`` line. The reproduce verdict is
shown under its command as ``#`` comment lines wrapped at :data:`WRAP` characters; the demo's
output is shown whole.

Exit codes: 0 up to date (or rewritten), 1 ``--check`` found a differing block (named, with a
diff), 2 a command failed or the markers are malformed. About a minute on two cores.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCKS = ("demo", "predict", "reproduce", "compare")
DEMO_WORLD = "worlds/demo-small-seed2020"  # where `toolkit demo` puts the world of demo.yaml (small, seed 2020)
STORE = "mlruns/mlflow.db"  # the default store, relative to the repository
WRAP = 100  # width of the reproduce verdict's comment lines
#: The predict example as the README shows it (run with the demo world and a scores file in the temporary folder).
PREDICT_COMMAND = f"toolkit predict --model des-ess-full_26 --data {DEMO_WORLD} --out scores.csv"

OPEN = re.compile(r"^<!-- example: ([a-z][a-z0-9_-]*) -->$")
CLOSE = "<!-- /example -->"
ANY_MARKER = re.compile(r"^\s*<!--\s*/?\s*example\b")  # a line starting like a marker (mentions in text are not)

#: Sections of `toolkit compare` kept in the README: (regex on the section's first line,
#: number of leading lines kept (None: all), regex of further lines kept (None: none)).
COMPARE_KEEP: tuple[tuple[str, int | None, str | None], ...] = (
    (r"^DMS contract: ", None, None),  # the first transition matrix
    (r"^\d+ entities changed stars", 4, None),  # heading, column names, two entities
    (r"^National averages", 3, r"^\s*DMS\s+g52\s"),  # heading, column names, DMS g13; DMS g52
    (r"^Inputs and settings that differ", 2, r"^\s*(config\.method|method_hash)\s"),  # heading, names; two rows
)


class MarkerError(ValueError):
    """The README's example markers are malformed."""


class Block(NamedTuple):
    """One example block: its name, the line numbers (0-based) of its markers, and its body."""

    name: str
    open_line: int
    close_line: int
    body: str


def parse_blocks(text: str) -> dict[str, Block]:
    """The example blocks of ``text`` by name, in order.

    Raises
    ------
    MarkerError
        A line starting like a marker that is not one of the two forms, a block opened inside another,
        a close without an open, an unclosed block, a name used twice or not in :data:`BLOCKS`.
    """
    lines = text.split("\n")
    blocks: dict[str, Block] = {}
    current: tuple[str, int] | None = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not ANY_MARKER.search(raw):
            continue
        m = OPEN.match(line)
        if m:
            if current is not None:
                raise MarkerError(f"README line {i + 1}: block {m.group(1)!r} opens inside block {current[0]!r}")
            if m.group(1) not in BLOCKS:
                raise MarkerError(f"README line {i + 1}: unknown block {m.group(1)!r} (known: {', '.join(BLOCKS)})")
            if m.group(1) in blocks:
                raise MarkerError(f"README line {i + 1}: block {m.group(1)!r} appears twice")
            current = (m.group(1), i)
        elif line == CLOSE:
            if current is None:
                raise MarkerError(f"README line {i + 1}: {CLOSE} without an open block")
            name, start = current
            blocks[name] = Block(name, start, i, "\n".join(lines[start + 1 : i]))
            current = None
        else:
            raise MarkerError(
                f"README line {i + 1}: malformed example marker {line!r} "
                f"(use '<!-- example: NAME -->' and '{CLOSE}' alone on their lines)"
            )
    if current is not None:
        raise MarkerError(f"README line {current[1] + 1}: block {current[0]!r} is never closed")
    return blocks


def replace_blocks(text: str, bodies: dict[str, str]) -> str:
    """``text`` with the body of every block named in ``bodies`` replaced."""
    blocks = parse_blocks(text)
    missing = sorted(set(bodies) - set(blocks))
    if missing:
        raise MarkerError(f"README has no block(s) {', '.join(missing)}")
    lines = text.split("\n")
    for b in sorted(blocks.values(), key=lambda b: -b.open_line):  # bottom up: line numbers stay valid
        if b.name in bodies:
            lines[b.open_line + 1 : b.close_line] = bodies[b.name].split("\n")
    return "\n".join(lines)


# ------------------------------------------------------------------ normalising and trimming


def normalise(text: str, tmp: Path) -> str:
    """Replace what changes from run to run (paths, run ids, times, durations); see the module docstring."""
    for folder in (str(tmp), str(ROOT)):
        text = text.replace(f"sqlite:///{folder}/", "sqlite:///<repo>/")
        text = text.replace(f"{folder}/", "")
    text = re.sub(r"\b(demo(?:_interim)?)-\d{8}T\d{6}Z-[0-9a-f]{8}\b", r"\1-<time>-<run>", text)
    text = re.sub(r"\bcompare-[0-9a-f]{8}-[0-9a-f]{8}-\d{8}T\d{6}Z\b", "compare-<run>-<run>-<time>", text)
    text = re.sub(r"\b[0-9a-f]{32}\b", "<run id>", text)
    text = re.sub(r"\b\d{8}T\d{6}Z\b", "<time>", text)
    text = re.sub(r"\b\d+\.\d+s\b", "<seconds>s", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def trim(text: str, keep: tuple[tuple[str, int | None, str | None], ...]) -> str:
    """Keep the lines ``keep`` selects (see the module docstring); each run of dropped lines is one '...'."""
    lines = text.strip("\n").split("\n")
    kept: list[bool] = []
    rule = None
    first = True  # the next non-blank line starts a section
    index = 0  # position of a line within its section
    for line in lines:
        if not line.strip():
            kept.append(False)
            first = True
            continue
        if first:
            rule = next((r for r in keep if re.search(r[0], line)), None)
            index, first = 0, False
        head, rows = (rule[1], rule[2]) if rule else (0, None)
        kept.append(rule is not None and ((head is None or index < head) or bool(rows and re.search(rows, line))))
        index += 1
    out: list[str] = []
    elided = False
    for line, k in zip(lines, kept, strict=True):
        if k:
            if elided and out:
                out.append("...")
            out.append(line)
            elided = False
        elif line.strip():
            elided = True
    if elided and out:
        out.append("...")
    return "\n".join(out)


def render(outputs: dict[str, str]) -> dict[str, str]:
    """The README body of each block from the commands' normalised stdout."""
    verdict = outputs["reproduce"].strip()
    wrapped = textwrap.wrap(
        verdict,
        width=WRAP,
        initial_indent="# ",
        subsequent_indent="#   ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return {
        "demo": "```\n" + outputs["demo"].strip("\n") + "\n```",
        "reproduce": "```bash\ntoolkit reproduce <run id>\n" + "\n".join(wrapped) + "\n```",
        "predict": f"```bash\n{PREDICT_COMMAND}\n# " + outputs["predict"].strip() + "\n```",
        "compare": "```\n" + trim(outputs["compare"], COMPARE_KEEP) + "\n```",
    }


# ------------------------------------------------------------------ running the commands


def _say(msg: str, t0: float) -> None:
    print(f"[readme_examples {time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    """Run ``python -m toolkit ARGS`` from the repository root; its stdout, or SystemExit(2) on failure."""
    p = subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-4000:] + p.stdout[-2000:])
        print(f"readme_examples: {what} failed (exit {p.returncode}): toolkit {' '.join(args)}", file=sys.stderr)
        raise SystemExit(2)
    return p.stdout


def _dirty() -> bool:
    """Uncommitted changes to tracked files (what toolkit.tracking.provenance.git_state calls dirty)."""
    p = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    )
    return p.returncode == 0 and bool(p.stdout.strip())


def _run_id(stdout: str, label: str) -> str:
    m = re.search(rf"^{label}\s+([0-9a-f]{{32}})\b", stdout, flags=re.M)
    if not m:
        print(f"readme_examples: no run id after {label!r} in:\n{stdout}", file=sys.stderr)
        raise SystemExit(2)
    return m.group(1)


def run_commands(t0: float) -> dict[str, str]:
    """Run demo, reproduce, predict, the interim release and compare; their normalised stdout by block name."""
    releases = ROOT / "releases"
    had_releases = releases.is_dir()
    before = set(os.listdir(releases)) if had_releases else set()
    with tempfile.TemporaryDirectory(prefix="readme-examples-") as tmpdir:
        tmp = Path(tmpdir).resolve()
        (tmp / "mlruns").mkdir()
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / STORE}"}
        env.pop("TOOLKIT_ROOT", None)
        out: dict[str, str] = {}
        try:
            _say("toolkit demo (small world, seed of configs/releases/demo.yaml)", t0)
            out["demo"] = _run(["demo", "--world", str(tmp / DEMO_WORLD)], env, "demo")
            run_a = _run_id(out["demo"], "MLflow run:")
            drift = ["--allow-code-drift"] if _dirty() else []
            if drift:
                print(
                    "readme_examples: the working tree has uncommitted changes: reproduce runs with "
                    "--allow-code-drift (same verdict line as on a clean tree)",
                    file=sys.stderr,
                )
            _say(f"toolkit reproduce {run_a}", t0)
            out["reproduce"] = _run(["reproduce", run_a, *drift], env, "reproduce")
            _say("toolkit predict --model des-ess-full_26 (the demo's champion)", t0)
            out["predict"] = _run(
                [
                    "predict",
                    "--model",
                    "des-ess-full_26",
                    "--data",
                    str(tmp / DEMO_WORLD),
                    "--out",
                    str(tmp / "scores.csv"),
                ],
                env,
                "predict",
            )
            _say("toolkit release --config configs/releases/demo_interim.yaml", t0)
            rel = _run(
                [
                    "release",
                    "--data",
                    str(tmp / DEMO_WORLD),
                    "--config",
                    "configs/releases/demo_interim.yaml",
                    "--out",
                    str(tmp / "releases"),
                ],
                env,
                "interim release",
            )
            run_b = _run_id(rel, "MLflow run:")
            _say(f"toolkit compare {run_a} {run_b}", t0)
            out["compare"] = _run(["compare", run_a, run_b, "--out", str(tmp / "comparisons")], env, "compare")
        finally:
            if releases.is_dir():  # the demo's release folder: ours to remove
                for name in sorted(set(os.listdir(releases)) - before):
                    if re.fullmatch(r"demo-\d{8}T\d{6}Z-[0-9a-f]{8}", name):
                        shutil.rmtree(releases / name)
                if not had_releases and not any(releases.iterdir()):
                    releases.rmdir()
        return {k: normalise(v, tmp) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--check",
        action="store_true",
        help="compare README.md with what the commands print now; exit 1 naming each differing block",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    text = README.read_text(encoding="utf-8")
    try:
        blocks = parse_blocks(text)
    except MarkerError as exc:
        print(f"readme_examples: {exc}", file=sys.stderr)
        return 2
    missing = [b for b in BLOCKS if b not in blocks]
    if missing:
        print(f"readme_examples: README.md has no block(s) {', '.join(missing)}", file=sys.stderr)
        return 2
    bodies = render(run_commands(t0))
    differing = [n for n in BLOCKS if blocks[n].body != bodies[n]]
    if args.check:
        for n in differing:
            print(f"README.md block '{n}' differs from what the commands print now:")
            sys.stdout.writelines(
                difflib.unified_diff(
                    (blocks[n].body + "\n").splitlines(keepends=True),
                    (bodies[n] + "\n").splitlines(keepends=True),
                    f"README.md ({n})",
                    f"now ({n})",
                )
            )
            print()
        print(
            f"{len(differing)} of {len(BLOCKS)} example blocks differ"
            if differing
            else f"README.md examples are up to date ({', '.join(BLOCKS)})"
        )
        _say("done", t0)
        return 1 if differing else 0
    new = replace_blocks(text, bodies)
    if new != text:
        README.write_text(new, encoding="utf-8")
    print(f"README.md: {'rewrote ' + ', '.join(differing) if differing else 'no change'}")
    _say("done", t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
