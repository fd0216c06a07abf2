"""Reading a registered model back for scoring: ``NAME``, ``NAME@ALIAS`` or ``NAME/VERSION``.

:func:`load_registered_model` resolves an alias to the version it points at first (as one consistent
read: :func:`toolkit.tracking.aliases.champion_versions` refuses an alias while a move of it is
unfinished), then loads exactly that version, so the version a caller reports is the one that scored.
It also returns what the model's own run says about it (``model.program``, ``model.measure``: the tags
a release puts on each model's child run, and any tag of the version itself), so that a caller need
not parse the model's name.

Every failure a user can cause (a malformed reference, a store that does not exist, an unknown model,
alias or version, a version whose files are gone) is a :class:`~toolkit.errors.TrackingError`.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import TrackingError
from toolkit.tracking.store import resolve_tracking_uri, sqlite_path

DEFAULT_ALIAS = "champion"
#: Tags of a model version's run (and of the version) that say what the model is for.
MODEL_TAG_PREFIX = "model."
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
_REF = re.compile(
    rf"^(?:models:/)?(?P<name>{_NAME})(?:@(?P<alias>[A-Za-z_][A-Za-z0-9_-]{{0,63}})|/(?P<version>[1-9][0-9]{{0,9}}))?$"
)
REF_HELP = "NAME, NAME@ALIAS or NAME/VERSION (e.g. des-ess-full_26@champion, des-ess-full_26/3)"


@dataclass(frozen=True)
class ModelRef:
    name: str
    alias: str | None  # None when a version was named
    version: str | None  # None when an alias was named (resolved by load_registered_model)

    def __str__(self) -> str:
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"


@dataclass
class RegisteredModel:
    """A registered model version, loaded: the pyfunc and what the registry says about it."""

    name: str
    version: str
    alias: str | None  # the alias it was reached through, if any
    run_id: str
    tags: dict[str, str] = field(default_factory=dict)  # model.* tags of its run, then the version's own tags
    pyfunc: Any = None  # mlflow.pyfunc.PyFuncModel: ``predict(frame)``

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def parse_model_ref(text: str) -> ModelRef:
    """``NAME`` (alias ``champion``), ``NAME@ALIAS`` or ``NAME/VERSION``, with or without ``models:/``."""
    m = _REF.match(text.strip())
    if m is None:
        raise TrackingError(f"--model is not a model reference: expected {REF_HELP}")
    if m["version"]:
        return ModelRef(m["name"], None, m["version"])
    return ModelRef(m["name"], m["alias"] or DEFAULT_ALIAS, None)


def _existing_store(uri: str) -> None:
    """A sqlite store must exist: scoring never creates one (MLflow would make a new, empty store)."""
    db = sqlite_path(uri)
    if db is not None and not db.is_file():
        what = "is a folder, not a store file" if db.is_dir() else "does not exist"
        raise TrackingError(
            f"the MLflow store {db} {what}: point --tracking-uri (or MLFLOW_TRACKING_URI) at the store a release "
            "registered its models in"
        )


def _missing(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


def resolve_model(ref: ModelRef, tracking_uri: str | None = None) -> RegisteredModel:
    """The version ``ref`` names (an alias resolved as one consistent read) and its tags; not loaded."""
    from mlflow.exceptions import MlflowException

    from toolkit.tracking.aliases import champion_versions
    from toolkit.tracking.store import connect, store_faults_as_errors

    uri = resolve_tracking_uri(tracking_uri)
    _existing_store(uri)
    with store_faults_as_errors(uri):
        client = connect(uri)
        try:
            client.get_registered_model(ref.name)
        except MlflowException as exc:
            if not _missing(exc):
                raise
            known = sorted(m.name for m in client.search_registered_models(max_results=1000))
            listed = f"; registered: {', '.join(known[:20])}{' ...' if len(known) > 20 else ''}" if known else ""
            raise TrackingError(f"no registered model {ref.name} in the store {uri}{listed}") from None
        version = ref.version
        if ref.alias is not None:
            try:
                version = champion_versions([ref.name], ref.alias, uri)[ref.name]
            except TrackingError as exc:
                raise TrackingError(f"model {ref.name}: {exc}") from None
        assert version is not None
        try:
            mv = client.get_model_version(ref.name, version)
        except MlflowException as exc:
            if not _missing(exc):
                raise
            raise TrackingError(f"model {ref.name} has no version {version} in the store {uri}") from None
        tags: dict[str, str] = {}
        if mv.run_id:
            with contextlib.suppress(MlflowException):  # a version whose run was deleted: its own tags only
                run_tags = client.get_run(mv.run_id).data.tags
                tags = {k: v for k, v in run_tags.items() if k.startswith(MODEL_TAG_PREFIX)}
        tags.update(dict(mv.tags or {}))
    return RegisteredModel(ref.name, str(version), ref.alias, mv.run_id or "", tags)


def load_registered_model(ref: ModelRef | str, tracking_uri: str | None = None) -> RegisteredModel:
    """:func:`resolve_model`, then the pyfunc of exactly that version (``models:/NAME/VERSION``)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from toolkit.tracking.store import store_faults_as_errors

    ref = parse_model_ref(ref) if isinstance(ref, str) else ref
    found = resolve_model(ref, tracking_uri)
    with store_faults_as_errors(tracking_uri), warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")  # version-mismatch notes of the environment the model was logged in
        try:
            found.pyfunc = mlflow.pyfunc.load_model(found.uri)
        except (MlflowException, OSError) as exc:
            raise TrackingError(
                f"model {found.name} version {found.version} cannot be loaded ({type(exc).__name__}): are its "
                "artifacts still beside the store?"
            ) from None
    return found
