"""Secrets never reach the store, whatever the layout around them; non-secrets survive.

Each case records an interaction whose prompt (and other fields) carry the secret in a
realistic context, then reads every byte under the session directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_orchestrator.infra.redact import redact, redact_value
from ai_orchestrator.store import SessionStore
from tests.helpers import as_record, interaction

ANTHROPIC = "sk-ant-api03-Xq7vR2mN8pL4kJ9hG6fD3sA1zC5bV0nM-QwErTyUiOp"
OPENAI = "sk-proj-4fGh7JkL9mNpQrStUvWxYz0123456789AbCdEf"
GOOGLE_KEY = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"
GOOGLE_OAUTH = "ya29.a0AfH6SMBx3jK9zQ-pLmN0oPqRsTuVwXyZ1234567"
GITHUB = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

CASES = [
    # (secret that must vanish, text it appears in)
    (ANTHROPIC, f"use this key:\n{ANTHROPIC}\nthanks"),
    (ANTHROPIC, f'ANTHROPIC_API_KEY="{ANTHROPIC}"'),
    (OPENAI, f"export OPENAI_API_KEY={OPENAI}"),
    (OPENAI, f'{{"api_key": "{OPENAI}"}}'),
    (GOOGLE_KEY, f"curl 'https://example.com/v1?key={GOOGLE_KEY}'"),
    (GOOGLE_OAUTH, f"token:\t{GOOGLE_OAUTH}"),
    (GITHUB, f"git clone https://{GITHUB}@github.com/o/r"),
    (GITHUB_PAT, f"GH_TOKEN: {GITHUB_PAT}"),
    (AWS_ID, f"creds:\n{AWS_ID}"),
    (AWS_ID, f"[default]\naws_access_key_id = {AWS_ID}"),
    (AWS_SECRET, f'aws_secret_access_key="{AWS_SECRET}"'),
    (AWS_SECRET, f"AWS_SECRET_ACCESS_KEY: {AWS_SECRET}"),
    (JWT, f"GET /\nAuthorization: Bearer {JWT}"),
    ("hunter2secret", 'DB_PASSWORD="hunter2secret"'),
    ("abcdef123", 'MY_API_KEY="abcdef123"'),
    ("abcdef123", "openai_api_key=abcdef123"),
    ("abcdef123", "OPENAI_API_KEY: abcdef123"),
    ("s3cr3t-value", "client:\n  SLACK_TOKEN: 's3cr3t-value'"),
    ("s3cr3t-value", "export STRIPE_SECRET=s3cr3t-value"),
    ("0123456789abcdef0123", "x-api-key: 0123456789abcdef0123"),
    ("opaque-token-9", '{"Authorization": "Bearer opaque-token-9"}'),
    ("opaque-token-9", "curl -H 'Authorization: token opaque-token-9' https://api"),
    ("dXNlcjpwYXNz", "Proxy-Authorization: Basic dXNlcjpwYXNz"),
    ("pass w0rd", 'password = "pass w0rd"'),
    ("hunter2secret", "GET /\nX-Trace: 1\nDB_PASSWORD=hunter2secret"),
    ("opaque-token-9", "GET /\nAuthorization: opaque-token-9"),
    ("hunter2secret", "mysql --password=hunter2secret"),
]


@pytest.mark.parametrize("secret, text", CASES)
def test_secret_never_reaches_disk(session_dir: Path, secret: str, text: str) -> None:
    store = SessionStore()
    stored = store.record(as_record(
        "run-x",
        interaction(
            prompt=text,
            response_preview=text,
            raw_events=[{"type": "message", "content": text}],
            notes={"nested": [text]},
        ),
    ))
    assert secret not in json.dumps(stored.to_json())
    for path in (session_dir / "run-x").iterdir():
        content = path.read_bytes()
        assert secret.encode() not in content, path.name
    line = (session_dir / "run-x" / "interactions.jsonl").read_text()
    assert "[REDACTED:" in json.loads(line)["prompt"]


@pytest.mark.parametrize("secret, text", CASES)
def test_redacting_a_serialised_line_keeps_valid_json(secret: str, text: str) -> None:
    """``redact`` on already-serialised JSON (as the todo log uses it) stays parseable
    and still removes the secret."""
    line = json.dumps({"text": text})
    cleaned = redact(line)
    assert secret not in cleaned
    json.loads(cleaned)


def test_values_under_secret_keys_are_replaced_whole() -> None:
    data = {
        "headers": {"Authorization": "Bearer x", "X-Api-Key": "k", "Accept": "json"},
        "env": {"OPENAI_API_KEY": "abc", "HOME": "/root", "MY_PASSWORD": "p"},
        "tokens": {"input": 5},
        "api_key_ref": "$OPENAI_API_KEY",
    }
    cleaned = redact_value(data)
    assert cleaned["headers"] == {
        "Authorization": "[REDACTED:authorization]",
        "X-Api-Key": "[REDACTED:api-key]",
        "Accept": "json",
    }
    assert cleaned["env"]["OPENAI_API_KEY"].startswith("[REDACTED")
    assert cleaned["env"]["MY_PASSWORD"].startswith("[REDACTED")
    assert cleaned["env"]["HOME"] == "/root"
    assert cleaned["tokens"] == {"input": 5}


@pytest.mark.parametrize(
    "text",
    [
        "desk-ant-abcdefghijklmnopqrstuvwxyz",  # not an Anthropic key
        "risk-analysis-abcdefghijklmnopqrstuvwxyz",  # "sk-" inside a word
        "max_tokens: 4096 and input_tokens=12",
        "OPENAI_API_KEY=$OPENAI_API_KEY",  # a placeholder, not a value
        "see AKIAIOSFODNN7EXAMPLEX and task-ant-1",  # too long to be a key id
        "the tokens field holds usage",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


# Non-ASCII characters are lowered through an ASCII copy of the text and tokens are found
# on it (``secret_rules._lowered``, ``secret_tokens._long_runs``): a character that
# lowers to two (U+0130), a non-ASCII space or letter, one outside the BMP, a lone
# surrogate (undecodable bytes) and the Kelvin sign (which lowers to ASCII ``k``) must
# neither shift a span nor hide a secret.
_AROUND = (
    "{c}" + GITHUB + '{c} {c}\nDB_PASSWORD: "{c}hunter2x9"\npassword = hunter2x9 {c}\n'
    "{c} docker login -u me -p S3cretPw9 {c}\n$ gh auth token\n"
    "gho_16C7e42F292c6912E7710c838347Ae178B4a\n{c}kind: Secret\n"
)


@pytest.mark.parametrize(
    "char", ["\u0130", "\u0394", "\u00a0", "\u2014", "\U0001f916", "\udc80", "\u212a"]
)
def test_non_ascii_characters_keep_every_span_in_place(char: str) -> None:
    expected = redact(_AROUND.format(c="#")).replace("#", char)
    assert "hunter2x9" not in expected and "S3cretPw9" not in expected
    assert redact(_AROUND.format(c=char)) == expected
    long_prefix = char * 5000 + "\n"
    assert redact(long_prefix + _AROUND.format(c=char)) == long_prefix + expected


def test_token_at_the_very_start_and_end_of_the_text() -> None:
    assert redact(GITHUB) == "[REDACTED:github-token]"
    assert redact("\u0394" + GITHUB) == "\u0394[REDACTED:github-token]"
    assert redact("x = 1\n" + GITHUB) == "x = 1\n[REDACTED:github-token]"
