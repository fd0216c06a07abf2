"""The documentation stands alone: links resolve inside the repository, nothing points at
../shared, every config named by docs/method.md exists, and the README's generated example
blocks are well-formed for experiments/readme_examples.py. Fast: no command is run."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "data_contracts" / "README.md"]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


def _prose(path: Path) -> str:
    """The Markdown text without fenced code blocks."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", _prose(path), re.M)}


def _links():
    for doc in DOCS:
        for m in LINK.finditer(_prose(doc)):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            yield doc, target


def test_the_documents_exist():
    assert (ROOT / "docs" / "method.md").is_file()
    assert all(d.is_file() for d in DOCS)


@pytest.mark.parametrize("doc, target", list(_links()), ids=lambda x: x.name if isinstance(x, Path) else x)
def test_relative_links_resolve_inside_the_repository(doc, target):
    path, _, anchor = target.partition("#")
    dest = (doc.parent / path).resolve() if path else doc
    assert dest.is_relative_to(ROOT), f"{doc.name}: link {target} leaves the repository"
    assert dest.is_file(), f"{doc.name}: link {target} names no file of the repository"
    if anchor and dest.suffix == ".md":
        assert anchor in _anchors(dest), f"{doc.name}: link {target}: no heading with anchor #{anchor}"


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except OSError:
        pytest.skip("git is not available")
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return out.stdout.splitlines()


def test_no_tracked_file_outside_tests_and_experiments_points_at_shared():
    offenders = []
    for name in _tracked_files():
        if name.startswith(("tests/", "experiments/")):
            continue
        p = ROOT / name
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if "../shared" in text:
            offenders.append(name)
    assert not offenders, f"files pointing outside the repository (../shared): {offenders}"


def test_every_config_named_in_the_method_exists():
    text = (ROOT / "docs" / "method.md").read_text(encoding="utf-8")
    named = {m.rstrip(".,:;)") for m in re.findall(r"configs/[A-Za-z0-9_./-]+", text)}
    assert named, "docs/method.md names no config"
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert not missing, f"docs/method.md names configs that do not exist: {missing}"


def _readme_examples():
    spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "experiments" / "readme_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_example_markers_parse():
    rx = _readme_examples()
    blocks = rx.parse_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert tuple(blocks) == rx.BLOCKS
    for b in blocks.values():
        assert b.body.startswith("```") and b.body.endswith("```"), f"block {b.name} is not one fenced code block"
        assert "<run id>" in b.body or b.name in ("compare", "predict")  # normalised, not a real run id
        assert not re.search(r"\b[0-9a-f]{32}\b", b.body), f"block {b.name} holds a run id"


@pytest.mark.parametrize(
    "text, message",
    [
        ("<!-- example: demo -->\nx\n", "never closed"),
        ("x\n<!-- /example -->\n", "without an open block"),
        ("<!-- example: demo -->\n<!-- example: compare -->\n<!-- /example -->\n", "opens inside"),
        ("<!-- example: nope -->\n<!-- /example -->\n", "unknown block"),
        ("<!-- example: demo -->\n<!-- /example -->\n<!-- example: demo -->\n<!-- /example -->\n", "appears twice"),
        ("<!-- example:demo-->\n<!-- /example -->\n", "malformed"),
    ],
)
def test_malformed_markers_are_named(text, message):
    rx = _readme_examples()
    with pytest.raises(rx.MarkerError, match=message):
        rx.parse_blocks(text)


def test_replace_blocks_rewrites_only_the_bodies():
    rx = _readme_examples()
    text = (
        "a\n<!-- example: demo -->\nold\nold\n<!-- /example -->\n"
        "b\n<!-- example: compare -->\nkeep\n<!-- /example -->\n"
    )
    new = rx.replace_blocks(text, {"demo": "new"})
    assert (
        new
        == "a\n<!-- example: demo -->\nnew\n<!-- /example -->\nb\n<!-- example: compare -->\nkeep\n<!-- /example -->\n"
    )


def test_trim_marks_each_elided_run_once():
    rx = _readme_examples()
    out = "Header A=1\n\nDMS contract: 1/1\nm1\nm2\n\nDMS site: x\ns1\n\n3 entities changed stars; ...\nh\nr1\nr2\nr3\n"
    assert (
        rx.trim(out, rx.COMPARE_KEEP) == "DMS contract: 1/1\nm1\nm2\n...\n3 entities changed stars; ...\nh\nr1\nr2\n..."
    )
