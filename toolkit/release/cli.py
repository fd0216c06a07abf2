"""``toolkit release``."""

from __future__ import annotations

import argparse
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.paths import workspace
from toolkit.release.config import load_release_config
from toolkit.release.pipeline import run_release


def run_release_cmd(args: argparse.Namespace) -> int:
    config, path = load_release_config(args.config)
    if args.variant:
        config = config.model_copy(update={"variant": args.variant})
    if args.records:
        config = config.model_copy(update={"data": config.data.model_copy(update={"records": args.records})})
    # the command line's paths are the user's own (from the current folder, anywhere); the config's
    # must stay inside the workspace (relative ones from its root)
    if args.data:
        data = Path(args.data).absolute()
    elif config.data.path is not None:  # inside the workspace (checked when the config was read)
        data = workspace() / config.data.path
    else:
        raise ToolkitError("no data: give --data DIR (a folder of contract tables) or data.path in the release config")
    res = run_release(
        config,
        data,
        config_path=path,
        tracking_uri=args.tracking_uri,
        out_root=Path(args.out).absolute() if args.out else None,
        previous=Path(args.previous).absolute() if args.previous else None,
    )
    print(f"release folder: {res.folder}")
    print(f"ratings: {res.folder / 'ratings.csv'}")
    print(f"MLflow run: {res.run_id} ({res.tracking_uri})")
    return 0 if res.status == "passed" else 1
