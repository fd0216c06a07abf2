"""Bad command-line values are exit 2 with a message (argparse's or the toolkit's), never a traceback,
and are found before any work is done or anything is created."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "args, words",
    [
        (("synth", "--seed", "-1"), "argument --seed: a seed is a whole number from 0"),
        (("synth", "--seed", "1.5"), "argument --seed: '1.5' is not a whole number"),
        (("synth", "--site-effect-sd", "-1"), "argument --site-effect-sd: must be a finite number from 0"),
        (("synth", "--site-effect-sd", "nan"), "argument --site-effect-sd: must be a finite number from 0"),
        (("dex", "synth", "--seed", "-3"), "a seed is a whole number from 0"),
        (("dcp", "synth", "--seed", "-3"), "a seed is a whole number from 0"),
        (("clients", "synth", "--seed", "-3"), "a seed is a whole number from 0"),
    ],
)
def test_bad_numbers(args, words, tmp_path, run_cli):
    out = tmp_path / "out"
    r = run_cli(*args, "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert words in r.stderr
    assert not out.exists()


def test_bad_max_examples(tiny_world_dir, run_cli):
    r = run_cli("validate", tiny_world_dir, "--max-examples", "-1")
    assert r.returncode == 2 and "must be at least 0" in r.stderr


@pytest.mark.parametrize("command", [("synth", "--scale", "tiny"), ("dex", "synth"), ("dcp", "synth")])
def test_unwritable_out_is_refused_before_generating(command, tmp_path, run_cli):
    """``synth --out`` in a place that cannot be written was a traceback after the world was generated."""
    f = tmp_path / "a-file"
    f.write_text("x")
    for out, words in ((f, "is a file, not a folder"), (f / "world", "is a file"), ("/proc/toolkit-world", "cannot")):
        r = run_cli(*command, "--out", out)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert words in r.stderr
        assert "[synth" not in r.stderr  # nothing was generated
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    r = run_cli(*command, "--out", full)
    assert r.returncode == 2 and "is not empty (use --overwrite" in r.stderr and "[synth" not in r.stderr
