"""``toolkit clients report | synth | reproduce`` (arguments are declared in :mod:`toolkit.cli`)."""

from __future__ import annotations

import argparse
import sys

from toolkit.output import Progress


def run_clients(args: argparse.Namespace) -> int:
    return {"report": _report, "synth": _synth, "reproduce": _reproduce}[args.clients_command](args)


def _report(args: argparse.Namespace) -> int:
    from toolkit.schemes.clientlevel.run import run_clientlevel

    say = Progress(not args.quiet, "clients")
    run = run_clientlevel(
        args.data, args.secret_env, config=args.config, tracking_uri=args.tracking_uri, out_root=args.out, say=say
    )
    p = run.results.publication.protection
    print(
        f"run {run.run_id}: {run.status}; {int(p.primary.sum())} small counts suppressed with "
        f"{int(p.complementary.sum())} complementary cells; privacy scan clean; model version "
        f"{run.model_version or '-'}; outputs in {run.folder}"
    )
    if run.status != "passed":
        print("model checks failed:\n  - " + "\n  - ".join(run.results.failed_checks), file=sys.stderr)
        return 1
    return 0


def _synth(args: argparse.Namespace) -> int:
    from toolkit.schemes.clientlevel.synth import (
        generate_client_world,
        write_client_world,
    )

    world = generate_client_world(args.seed, args.config)
    out = write_client_world(world, args.out, overwrite=args.overwrite)
    t = world.tables
    print(
        f"wrote {len(t['enrolments'])} enrolments of {len(t['clients'])} client records at "
        f"{len(t['services'])} services of {len(t['providers'])} providers "
        f"({len(world.truth['malformed'])} malformed records) to {out}"
    )
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from toolkit.schemes.clientlevel.reproduce import reproduce_clientlevel
    from toolkit.tracking.reproduce import print_reproduction

    return print_reproduction(
        reproduce_clientlevel(
            args.run_id, args.secret_env, data_dir=args.data, tracking_uri=args.tracking_uri, scratch=args.scratch
        )
    )
