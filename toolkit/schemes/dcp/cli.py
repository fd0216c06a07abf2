"""``toolkit dcp report | synth | catalogue`` (arguments are declared in :mod:`toolkit.cli`)."""

from __future__ import annotations

import argparse
import sys

from toolkit.output import Progress


def run_dcp(args: argparse.Namespace) -> int:
    return {"report": _report, "synth": _synth, "catalogue": _catalogue, "reproduce": _reproduce}[args.dcp_command](
        args
    )


def _report(args: argparse.Namespace) -> int:
    from toolkit.schemes.dcp.report import run_dcp_report

    say = Progress(not args.quiet, "dcp")
    run = run_dcp_report(
        args.data,
        config=args.config,
        catalogue=args.catalogue,
        tracking_uri=args.tracking_uri,
        out_root=args.out,
        say=say,
    )
    res = run.result
    t1 = res.results[res.results["tier"] == 1]
    print(
        f"run {run.run_id}: {len(res.results)} KPI-quarters ({int(t1['level'].eq(3).sum())} at level 3), "
        f"{int(res.runs['escalated'].sum())} escalated runs, {len(res.exclusions)} submissions excluded; "
        f"outputs in {run.folder}"
    )
    return 0


def _synth(args: argparse.Namespace) -> int:
    from toolkit.schemes.dcp.synth import generate_submissions, write_dcp_world

    world = generate_submissions(args.seed, args.config)
    out = write_dcp_world(world, args.out, overwrite=args.overwrite)
    n = len(world.tables["kpi_submissions"])
    print(
        f"wrote {n} submissions ({len(world.truth['malformed'])} malformed, {len(world.truth['missing'])} "
        f"expected ones missing) for {len(world.tables['providers'])} providers to {out}"
    )
    return 0


def _catalogue(args: argparse.Namespace) -> int:
    from toolkit.schemes.dcp.catalogue import load_catalogue

    cat = load_catalogue(args.file)
    t1 = sum(k.tier == 1 for k in cat.kpis)
    print(
        f"catalogue {cat.catalogue} version {cat.version}: valid ({t1} Tier 1 and {len(cat.kpis) - t1} Tier 2 "
        f"entries; {len(cat.corrections)} corrections of the seed)",
        file=sys.stdout,
    )
    for k in cat.kpis:
        for r in k.readings:
            print(f"  KPI {k.id} ({k.stream}): {r}")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from toolkit.schemes.dcp.reproduce import reproduce_dcp
    from toolkit.tracking.reproduce import print_reproduction

    return print_reproduction(
        reproduce_dcp(args.run_id, data_dir=args.data, tracking_uri=args.tracking_uri, scratch=args.scratch)
    )
