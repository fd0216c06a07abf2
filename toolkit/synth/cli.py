"""``toolkit synth``."""

from __future__ import annotations

import argparse

from toolkit.output import Progress
from toolkit.synth.params import load_world_params
from toolkit.synth.world import add_oracle, generate_world, write_world


def run_synth(args: argparse.Namespace) -> int:
    say = Progress(True)
    params = load_world_params(args.config)
    world = generate_world(
        args.scale,
        args.seed,
        params=params,
        site_effect_sd=args.site_effect_sd,
        progress=True,
        events=not getattr(args, "no_events", False),
    )
    if not args.no_oracle:
        say(f"oracle ratings with method {args.method}")
        add_oracle(world, args.method)
    out = write_world(world, args.out, overwrite=args.overwrite)
    rows = ", ".join(f"{k} {v:,}" for k, v in world.info["rows"].items())
    say(f"done: {rows}")
    print(out)
    return 0
