"""Child process of ``test_alias_move.py``: one tracked run that moves ``champion``, faulted at a chosen step.

``python alias_move_child.py URI OUT VERSIONS_JSON STEP SIGNAL``: the toolkit's own lifecycle
(:func:`toolkit.tracking.lifecycle.tracked_run`, :func:`toolkit.tracking.aliases.move_aliases`) with the
fault harness of ``kill_harness.py`` (steps and signals are its own).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# run as a script: this checkout's toolkit (not an installed one) and the harness beside this file
sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).parent)]

from kill_harness import install  # noqa: E402

from toolkit.tracking.lifecycle import RunSpec, tracked_run  # noqa: E402

uri, out, versions_json, step, sig = sys.argv[1:6]
versions: dict[str, str] = json.loads(versions_json)
install(step, sig)
spec = RunSpec(experiment="alias-moves", name="mover", kind="alias-test", params={}, output_root=out, artifact_path="m")
try:
    with tracked_run(spec, uri) as tr:
        print(f"child: run {tr.run_id} folder {tr.folder}", flush=True)
        tr.write_record({"versions": versions})
        tr.set_aliases(versions, "champion")
except KeyboardInterrupt:
    print("child: interrupted", flush=True)
    sys.exit(130)
print("child: done", flush=True)
