"""``toolkit release``."""

from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.release.config import load_release_config
from toolkit.release.pipeline import run_release


def run_release_cmd(args: argparse.Namespace) -> int:
    config, path = load_release_config(args.config)
    if args.variant:
        config = config.model_copy(update={"variant": args.variant})
    if args.records:
        config = config.model_copy(update={"data": config.data.model_copy(update={"records": args.records})})
    data = args.data or config.data.path
    if data is None:
        raise ToolkitError("no data: give --data DIR (a folder of contract tables) or data.path in the release config")
    res = run_release(
        config, Path(data), config_path=path, tracking_uri=args.tracking_uri, out_root=args.out, previous=args.previous
    )
    print(f"release folder: {res.folder}")
    print(f"ratings: {res.folder / 'ratings.csv'}")
    print(f"MLflow run: {res.run_id} ({res.tracking_uri})")
    return 0 if res.status == "passed" else 1
