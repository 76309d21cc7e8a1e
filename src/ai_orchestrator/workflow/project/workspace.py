"""The project workspace ``.aio/``: where it is, its paths, atomic YAML/JSON IO, the feature lock.

Layout (relative to the project root)::

    .aio/
      config.toml                  written once, commented (see ``workflow.project.config``)
      current                      the default feature for commands that omit it
      history.jsonl                workspace events (``aio features clean``)
      archive/<stamp>/features/<id>/  archived features (``workflow.model.housekeeping``)
      features/<feature-id>/
        feature.yaml               description, status, active task, timestamps
        plan.yaml                  phases → tasks (see ``workflow.model.plan``)
        history.jsonl              append-only command events (see ``workflow.project.history``)
        artifacts/                 test logs and JUnit XML per task, reviews, verify results
        .lock                      feature lock (flock; holder recorded for diagnostics)

Contract and invariants:

- **Root discovery** (``workflow.project.location``): ``$AIO_PROJECT_DIR`` when set;
  otherwise the nearest directory, walking up from the cwd, that contains ``.aio/`` or
  ``.git``; otherwise (``init`` only) the cwd. Other commands raise ``NotFound`` when no
  ``.aio/`` exists there.
- **Atomic writes**: every YAML/JSON file is replaced with temp file + rename
  (``infra.fsutil.atomic_write``), so a crash leaves the old or the new file, never a mix.
- **No secrets**: YAML files, ``history.jsonl`` and artifacts are redacted
  (``infra.redact``) as they are written; ids, names and timestamps are kept.
- **Feature lock**: mutating commands on one feature (plan, implement) hold
  ``features/<id>/.lock`` (flock) for their whole run. A second command waits up to
  ``lock_timeout`` seconds, then ``SessionBusy`` (exit 1) names the holder (pid, command,
  since). The lock dies with its process, so a crash never leaves a lock to delete.
- Feature ids follow ``core.names.validate_feature_id`` (the feature part of session names).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_orchestrator.core.errors import FeatureNotFound, InvalidInput, NotFound, StoreError
from ai_orchestrator.core.names import validate_feature_id
from ai_orchestrator.core.schema import SCHEMA_KEY
from ai_orchestrator.infra import locks
from ai_orchestrator.infra.fsutil import PUBLIC_FILE_MODE, atomic_write
from ai_orchestrator.infra.redact import redact_value
from ai_orchestrator.workflow.project import location
from ai_orchestrator.workflow.project.location import AIO_DIR as AIO_DIR
from ai_orchestrator.workflow.project.location import find_project_root as find_project_root

if TYPE_CHECKING:  # YAML loads to read or write a file: completing a feature id needs none
    import yaml



def dump_yaml(data: Any) -> bytes:
    import yaml

    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return text.encode("utf-8")


# Ids, names, states and timestamps of features and plans: never redacted (a redacted
# task id or dependency would break the plan).
_IDENTITY_FIELDS = (
    SCHEMA_KEY,
    "id",
    "feature",
    "status",
    "active_task",
    "dependencies",
    "agent",
    "model_in_use",
    "agent_in_use",
    "planner",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
)


def write_yaml(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as YAML, secrets in its texts redacted."""
    clean = redact_value(data, keep=_IDENTITY_FIELDS, nested=True)
    atomic_write(path, dump_yaml(clean), mode=PUBLIC_FILE_MODE)


def read_yaml(path: Path) -> Any:
    """The parsed file; ``NotFound`` when missing, ``StoreError`` (a one-line message) when it
    cannot be read, is not UTF-8 or is not YAML."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{path} does not exist") from None
    except OSError as exc:
        raise StoreError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StoreError(f"{path} is not valid YAML: {_yaml_problem(exc)}") from exc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


@dataclass(frozen=True)
class FeaturePaths:
    """The files of one feature."""

    root: Path

    @property
    def feature_file(self) -> Path:
        return self.root / "feature.yaml"

    @property
    def plan_file(self) -> Path:
        return self.root / "plan.yaml"

    @property
    def history_file(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"


class Workspace:
    """The ``.aio/`` directory of one project."""

    def __init__(self, project_root: Path) -> None:
        self.project_root = project_root.resolve()
        self.dir = self.project_root / AIO_DIR

    @classmethod
    def find(cls, *, for_init: bool = False) -> Workspace:
        """The workspace of the current project; ``NotFound`` unless it exists (or init)."""
        root = find_project_root()
        if root is None:
            if not for_init:
                raise NotFound(
                    "not inside an aio project: no .aio/ or .git found from here upwards "
                    "(run `aio init FEATURE` in the project root, or set AIO_PROJECT_DIR)"
                )
            root = Path.cwd()
        ws = cls(root)
        if not for_init and not ws.dir.is_dir():
            raise NotFound(f"no aio workspace in {ws.project_root} (run `aio init FEATURE` first)")
        return ws

    @property
    def config_file(self) -> Path:
        return self.dir / "config.toml"

    @property
    def features_dir(self) -> Path:
        return self.dir / "features"

    @property
    def current_file(self) -> Path:
        return self.dir / "current"

    def feature(self, feature_id: str) -> FeaturePaths:
        return FeaturePaths(self.features_dir / validate_feature_id(feature_id))

    def existing_feature(self, feature_id: str) -> FeaturePaths:
        paths = self.feature(feature_id)
        if not paths.feature_file.is_file():
            raise FeatureNotFound(feature_id)
        return paths

    def feature_ids(self) -> list[str]:
        return location.feature_ids(self.dir)

    # -- the current feature -------------------------------------------------------------

    def current(self) -> str | None:
        return location.current_feature(self.dir)

    def set_current(self, feature_id: str) -> None:
        self.existing_feature(feature_id)
        atomic_write(self.current_file, f"{feature_id}\n".encode(), mode=PUBLIC_FILE_MODE)

    def resolve_feature(self, feature_id: str | None) -> str:
        """``feature_id``, or the current feature when omitted (``InvalidInput`` if none).
        An empty ``feature_id`` is invalid (exit 2), never "omitted"."""
        if feature_id == "":
            raise InvalidInput("invalid feature '': give a feature id or leave FEATURE out")
        if feature_id:
            self.existing_feature(feature_id)
            return feature_id
        current = self.current()
        if current is None:
            raise InvalidInput("no FEATURE given and no current feature (use `aio switch FEATURE`)")
        self.existing_feature(current)
        return current

    # -- locking -------------------------------------------------------------------------

    def lock_feature(
        self, feature_id: str, *, timeout: float, on_wait: locks.WaitReport | None = None
    ) -> locks.HeldLock:
        paths = self.existing_feature(feature_id)
        return locks.acquire(
            paths.lock_file, timeout=timeout, what=f"feature {feature_id}", on_wait=on_wait
        )
