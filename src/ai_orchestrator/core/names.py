"""Feature ids and session names: the only strings that become paths in the store.

Rules (enforced here and nowhere else):

- A feature id matches ``^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$``: 1–64 lowercase ASCII
  letters, digits and hyphens, not starting or ending with a hyphen.
- A session name is ``<command>-<feature-id>`` where the command is a lowercase word
  ``^[a-z][a-z0-9]{0,31}$`` (no hyphen), so a name splits unambiguously at its first
  hyphen: ``implement-auth-service`` is command ``implement``, feature ``auth-service``.

- An *id* (record id, agent session id, todo id, task id) is 1–128 ASCII letters, digits
  and ``. _ : + -``, starting with a letter or digit (``ID_PATTERN``). Ids, names and
  timestamps are never redacted (two secret-looking ids must stay two ids, or an import
  would no longer recognise what it already holds); this rule keeps them free of
  anything but identifier characters instead.

Because the allowed alphabet has no ``/``, no ``.``, no uppercase and no non-ASCII, a
valid name is always a single, plain path component, can never address anything outside
``SESSION_DIR`` and maps to a directory that no other valid name maps to (even on a
case-insensitive or normalising file system). Anything else is refused with
``InvalidInput`` (exit 2) and a message that says what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ai_orchestrator.core.errors import InvalidInput

FEATURE_ID_PATTERN = r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?"
COMMAND_PATTERN = r"[a-z][a-z0-9]{0,31}"
_FEATURE_RE = re.compile(rf"\A{FEATURE_ID_PATTERN}\Z")
_COMMAND_RE = re.compile(rf"\A{COMMAND_PATTERN}\Z")
# The command has no hyphen, so this is exactly parse_session_name's split-and-check.
_SESSION_RE = re.compile(rf"\A{COMMAND_PATTERN}-{FEATURE_ID_PATTERN}\Z")

ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:+\-]{0,127}"
_ID_RE = re.compile(rf"\A{ID_PATTERN}\Z")
ID_RULE = "1-128 characters: ASCII letters, digits and . _ : + -, starting with a letter or digit"

FEATURE_RULE = (
    "1-64 characters: lowercase letters a-z, digits 0-9 and hyphens, "
    "starting and ending with a letter or digit"
)
SESSION_RULE = (
    "<command>-<feature-id>, e.g. implement-auth-service: the command is a lowercase word "
    f"(a-z, 0-9, starting with a letter) and the feature id is {FEATURE_RULE}"
)


@dataclass(frozen=True)
class SessionName:
    """A validated session name and its two parts."""

    command: str
    feature_id: str

    @property
    def name(self) -> str:
        return f"{self.command}-{self.feature_id}"

    def __str__(self) -> str:
        return self.name


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_feature_id(value: str) -> str:
    """Return ``value`` if it is a valid feature id, else raise ``InvalidInput``."""
    if not isinstance(value, str) or not _FEATURE_RE.match(value):
        raise InvalidInput(f"invalid feature id {_shown(value)}: use {FEATURE_RULE}")
    return value


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID_RE.match(value) is not None


def validate_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a valid id (see ``ID_PATTERN``), else raise ``InvalidInput``
    naming ``what`` (``interaction field 'id'``, ``todo id``, …)."""
    if not isinstance(value, str) or not is_valid_id(value):
        raise InvalidInput(f"invalid {what} {_shown(value)}: use {ID_RULE}")
    return value


def validate_command(value: str) -> str:
    if not isinstance(value, str) or not _COMMAND_RE.match(value):
        raise InvalidInput(
            f"invalid command {_shown(value)}: use a lowercase word (a-z, 0-9, "
            "starting with a letter, at most 32 characters)"
        )
    return value


def parse_session_name(value: str) -> SessionName:
    """Split and validate ``<command>-<feature-id>``; raise ``InvalidInput`` otherwise."""
    if isinstance(value, str) and "-" in value:
        command, _, feature = value.partition("-")
        if _COMMAND_RE.match(command) and _FEATURE_RE.match(feature):
            return SessionName(command, feature)
    raise InvalidInput(f"invalid session name {_shown(value)}: use {SESSION_RULE}")


def as_session_name(value: str | SessionName) -> SessionName:
    """``value`` as a ``SessionName``: a name is parsed once, then passed on as the object."""
    return value if isinstance(value, SessionName) else parse_session_name(value)


def session_name(command: str, feature_id: str) -> SessionName:
    """Build a session name from its parts, validating both."""
    return SessionName(validate_command(command), validate_feature_id(feature_id))


TEMPLATE_RULE = FEATURE_RULE


def validate_template_name(value: object) -> str:
    """Return ``value`` if it is a valid template name (the feature-id rule: it becomes one
    file name under ``SESSION_DIR/templates``), else raise ``InvalidInput``."""
    if not isinstance(value, str) or not _FEATURE_RE.match(value):
        raise InvalidInput(f"invalid template name {_shown(value)}: use {TEMPLATE_RULE}")
    return value


def is_session_name(value: str) -> bool:
    """``parse_session_name`` would accept ``value`` (one regex: a listing calls this for
    every entry of the store)."""
    return isinstance(value, str) and _SESSION_RE.match(value) is not None
