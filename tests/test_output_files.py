"""Where and how the toolkit writes: owner-only files for pseudonymous ids; output folders checked
before anything is created."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from toolkit.errors import ToolkitError
from toolkit.output import check_output_root, prepare_folder, private_folder, write_private_csv, write_private_table


def test_private_files_are_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        d = private_folder(tmp_path / "restricted")
        csv, parquet = d / "people.csv", d / "people.parquet"
        csv.write_text("old")
        csv.chmod(0o644)  # an existing file keeps its mode unless told otherwise
        df = pd.DataFrame({"participant_id": ["P1", "P2"], "n": [1, 2]})
        write_private_csv(df, csv)
        write_private_table(df, parquet)
    finally:
        os.umask(old)
    assert d.stat().st_mode & 0o777 == 0o700
    assert csv.stat().st_mode & 0o777 == 0o600 and parquet.stat().st_mode & 0o777 == 0o600
    assert csv.read_text() == df.to_csv(index=False)
    assert pd.read_parquet(parquet).equals(df)


def test_output_folder_that_is_a_file_or_cannot_be_made(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    for bad in (f, f / "below", tmp_path / "new" / ".." / "file"):
        with pytest.raises(ToolkitError, match="is a file, not a folder"):
            check_output_root(bad)
        with pytest.raises(ToolkitError):
            prepare_folder(bad)
    assert check_output_root(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()  # checking creates nothing
    with pytest.raises(ToolkitError, match="cannot be"):
        prepare_folder("/proc/toolkit-out")
