"""Generate and write a synthetic DES world."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from toolkit.output import Progress, prepare_folder, write_table
from toolkit.synth.params import MethodRules, WorldParams, load_method_rules, load_world_params
from toolkit.synth.people import make_people
from toolkit.synth.structure import make_structure
from toolkit.synth.truth import make_records, make_site_effects

if TYPE_CHECKING:
    from collections.abc import Callable

    from toolkit.synth.people import People
    from toolkit.synth.structure import Structure
    from toolkit.synth.truth import ContractTransfers

TABLES = ("organisations", "contracts", "sites", "regions", "participants", "measure_records")


@dataclass
class World:
    """The contract tables of a synthetic world and its ground truth."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    info: dict = field(default_factory=dict)
    events: dict[str, pd.DataFrame] = field(default_factory=dict)  # raw events (data_contracts/events/), if generated


def _world_params(scale: str, params: WorldParams | None, site_effect_sd: float | None) -> WorldParams:
    """The generator parameters (default config; the site-effect spread overridden if given), checked to
    have ``scale``."""
    params = params or load_world_params()
    if site_effect_sd is not None:
        params = params.with_site_effect_sd(site_effect_sd)
    if scale not in params.scales:
        from toolkit.errors import ConfigError

        raise ConfigError(f"unknown scale {scale!r} (known: {', '.join(params.scales)})")
    return params


def _world_info(params: WorldParams, scale: str, seed: int, tables: dict[str, pd.DataFrame]) -> dict:
    """``world.json``: generator, scale, seed, site-effect spread, window and row counts."""
    return {
        "generator": params.name,
        "scale": scale,
        "seed": seed,
        "site_effect_sd": params.site_effects.sd,
        "window_start": params.release.window_start,
        "window_end": params.release.window_end,
        "rows": {k: len(v) for k, v in tables.items()},
    }


def _raw_events(
    seq: np.random.SeedSequence,
    params: WorldParams,
    st: Structure,
    people: People,
    records: pd.DataFrame,
    rules: MethodRules,
    transfers: ContractTransfers,
    say: Callable[[str], None],
) -> dict[str, pd.DataFrame]:
    """The raw events (``toolkit/synth/events.py``), drawn from their own stream."""
    from toolkit.synth.events import make_events

    raw_events = make_events(np.random.default_rng(seq), params, st, people, records, rules=rules, transfers=transfers)
    say(f"events: {', '.join(f'{k} {len(v):,}' for k, v in raw_events.items())}")
    return raw_events


def generate_world(
    scale: str = "small",
    seed: int = 2020,
    params: WorldParams | None = None,
    site_effect_sd: float | None = None,
    progress: bool = False,
    events: bool = True,
    rules: MethodRules | None = None,
) -> World:
    """Generate a synthetic world.

    Parameters
    ----------
    scale : {"tiny", "small", "national"}
    seed : int
        One integer seed; split with :class:`numpy.random.SeedSequence` into independent
        streams for structure, participants, site effects and outcomes (and, sixth, the
        transfers within a contract), so that changing the spread of site effects changes
        nothing else.
    params : WorldParams, optional
        Generator parameters (default ``configs/synth/des_world.yaml``).
    site_effect_sd : float, optional
        Overrides ``site_effects.sd``.
    events : bool
        Also generate the raw events (``toolkit/synth/events.py``) from a fifth, separate
        stream: the other tables are the same with or without them.
    rules : MethodRules, optional
        The method's measures and thresholds (default: ``configs/methods/des_2018.yaml`` and
        ``configs/derive/des_2018.yaml``, :func:`~toolkit.synth.params.load_method_rules`).

    Examples
    --------
    >>> w = generate_world("tiny", seed=1)
    >>> sorted(w.tables)[:2]
    ['contracts', 'measure_records']
    """
    say = Progress(progress)
    params = _world_params(scale, params, site_effect_sd)
    rules = rules or load_method_rules()
    sc = params.scales[scale]
    # spawn(6) gives the same first five children as spawn(5) (and those the first four of spawn(4)): the
    # events' stream and then the transfers within a contract were added, the other streams unchanged
    ss_structure, ss_people, ss_effects, ss_outcomes, ss_events, ss_transfers = np.random.SeedSequence(seed).spawn(6)
    say(
        f"scale={scale} seed={seed}: structure ({sc.organisations} organisations, "
        f"{sc.contracts_dms + sc.contracts_ess} contracts, {sc.esas} ESAs)"
    )
    st = make_structure(np.random.default_rng(ss_structure), params, sc)
    say(
        f"structure: {len(st.contracts):,} contracts, {len(st.sites):,} sites "
        f"at {st.sites['location_id'].nunique():,} locations"
    )
    people = make_people(np.random.default_rng(ss_people), params, sc.participants, st, rules)
    say(f"participants: {len(people.participants):,}")
    effects = make_site_effects(np.random.default_rng(ss_effects), params, st, rules)
    records, record_truth, transfers = make_records(
        np.random.default_rng(ss_outcomes),
        params,
        st,
        people,
        effects,
        rules,
        transfer_rng=np.random.default_rng(ss_transfers),
    )
    say(
        f"measure records: {len(records):,} ({len(transfers.who):,} transfers within a contract, "
        f"{int(transfers.record.sum()):,} losing-site records)"
    )
    tables = {
        "organisations": st.organisations,
        "contracts": st.contracts,
        "sites": st.sites,
        "regions": st.regions,
        "participants": people.participants,
        "measure_records": records,
    }
    raw_events = _raw_events(ss_events, params, st, people, records, rules, transfers, say) if events else {}
    return World(
        tables=tables,
        truth={"site_effects": effects, "record_truth": record_truth, "params": params.model_dump(mode="json")},
        info=_world_info(params, scale, seed, tables),
        events=raw_events,
    )


def add_oracle(world: World, method_name: str = "des_2018") -> World:
    """Score the world's oracle (true probabilities as actual, average-site ones as expected) into ``world.truth``."""
    from toolkit.scoring import load_method, score_entities
    from toolkit.synth.oracle import oracle_entity_measures

    em = oracle_entity_measures(
        world.tables, world.truth["record_truth"], world.info["window_start"], world.info["window_end"]
    )
    world.truth["oracle_entity_measures"] = em
    world.truth["oracle_ratings"] = score_entities(em, load_method(method_name), fractional_actual=True)
    world.info["oracle_method"] = method_name
    return world


def write_world(world: World, out: str | Path, overwrite: bool = False, progress: bool = False) -> Path:
    """Write the tables as ``<out>/<table>.parquet``, the truth under ``<out>/truth/`` (with the
    oracle ratings when :func:`add_oracle` has run) and the raw events under ``<out>/events/``."""
    say = Progress(progress)
    out = prepare_folder(out, overwrite)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        write_table(world.tables[name], out / f"{name}.parquet")
    for name in ("site_effects", "record_truth"):
        write_table(world.truth[name], out / "truth" / f"{name}.parquet")
    for name in ("oracle_entity_measures", "oracle_ratings"):
        if name in world.truth:
            write_table(world.truth[name], out / "truth" / f"{name}.parquet")
    if world.events:
        (out / "events").mkdir(exist_ok=True)
        for name, df in world.events.items():
            write_table(df, out / "events" / f"{name}.parquet")
    (out / "truth" / "params.json").write_text(json.dumps(world.truth["params"], indent=2, sort_keys=True) + "\n")
    (out / "world.json").write_text(json.dumps(world.info, indent=2, sort_keys=True) + "\n")
    say(f"wrote {out}")
    return out
