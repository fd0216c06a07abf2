"""Kill (or fail) a toolkit process at a chosen step of its tracking, for the fault tests and the campaign.

``python tests/tracking/kill_harness.py STEP SIGNAL -- <toolkit arguments>`` runs ``toolkit <arguments>``
(the real CLI, in this process) after wrapping a few ``MlflowClient`` methods, so that at ``STEP`` the
process sends itself ``SIGNAL``: ``KILL`` (no handler runs), ``TERM`` (the toolkit's handler runs), or
``RAISE`` (the store call fails with an ``MlflowException``, as a full disk makes it), or
``TERM_ORPHAN`` (a non-daemon thread that never ends is started, as a thread pool interrupted at the
wrong moment can leave one, then SIGTERM). Steps:

- ``after_pending``: the alias move's pending record is written;
- ``alias_<k>``: the k-th alias of the move is set;
- ``before_complete``: every alias is set, the complete mark is not written;
- ``after_complete``: the complete mark is written;
- ``metrics_<k>``: the k-th ``log_metrics`` call of the process (inside a job's body), as it starts;
- ``none``: no fault.

Only MLflow's client is wrapped: the toolkit code under test is the shipped code.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: this checkout's toolkit, not an installed one
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mlflow.tracking import MlflowClient

# toolkit.tracking.aliases's tags, spelt out: the harness also runs against code from before the protocol
MOVE_TAG, PENDING, COMPLETE = "toolkit.alias_move", "pending", "complete"

_calls = {"alias": 0, "metrics": 0}


def install(step: str, sig: str) -> None:
    """Wrap the client calls so that ``sig`` hits this process at ``step``."""
    set_alias, log_batch = MlflowClient.set_registered_model_alias, MlflowClient.log_batch

    def fault(where: str) -> None:
        if step != where:
            return
        print(f"harness: {sig} at {where}", flush=True)
        if sig == "RAISE":
            from mlflow.exceptions import MlflowException

            raise MlflowException(f"(sqlite3.OperationalError) disk I/O error (injected at {where})")
        if sig == "TERM_ORPHAN":
            import queue
            import threading

            threading.Thread(target=queue.SimpleQueue().get, name="orphan", daemon=False).start()
        os.kill(os.getpid(), signal.SIGKILL if sig == "KILL" else signal.SIGTERM)

    def wrapped_set_alias(self: MlflowClient, *args: Any, **kwargs: Any) -> Any:
        result = set_alias(self, *args, **kwargs)
        _calls["alias"] += 1
        fault(f"alias_{_calls['alias']}")
        return result

    def wrapped_log_batch(self: MlflowClient, *args: Any, **kwargs: Any) -> Any:
        tags = {t.key: t.value for t in kwargs.get("tags") or ()}
        metrics = kwargs.get("metrics") or (args[1] if len(args) > 1 else ())
        if metrics:
            _calls["metrics"] += 1
            fault(f"metrics_{_calls['metrics']}")  # as the call starts: it is a store call under way
        if tags.get(MOVE_TAG) == COMPLETE:
            fault("before_complete")
        result = log_batch(self, *args, **kwargs)
        if tags.get(MOVE_TAG) == PENDING:
            fault("after_pending")
        if tags.get(MOVE_TAG) == COMPLETE:
            fault("after_complete")
        return result

    MlflowClient.set_registered_model_alias = wrapped_set_alias  # type: ignore[method-assign]
    MlflowClient.log_batch = wrapped_log_batch  # type: ignore[method-assign]


if __name__ == "__main__":
    step, sig, sep, *argv = sys.argv[1:]
    assert sep == "--", "usage: kill_harness.py STEP SIGNAL -- <toolkit arguments>"
    install(step, sig)
    from toolkit.cli import main

    raise SystemExit(main(argv))
