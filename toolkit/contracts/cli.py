"""``toolkit validate DIR``."""

from __future__ import annotations

import argparse
import sys

from toolkit.contracts.validate import validate_dir


def run_validate(args: argparse.Namespace) -> int:
    _typed, report = validate_dir(
        args.data_dir, tables=args.tables, contracts_dir=args.contracts, max_examples=args.max_examples
    )
    if report.ok:
        print(report.summary())
        return 0
    print(report.summary(), file=sys.stderr)
    return 2
