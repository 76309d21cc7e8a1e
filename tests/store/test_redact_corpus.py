"""A generated secrets corpus: every shape, in every field a record carries, never reaches
disk (store, export) — and a look-alike corpus that must come through unchanged.

Secrets are generated from a fixed seed (random bodies in each provider's alphabet), so a
rule that only knows one example value fails here. A leak is any 10-character piece of
the secret's random part found anywhere in the session directory or the export.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from pathlib import Path

import pytest

from ai_orchestrator.infra.redact import redact, redact_value
from ai_orchestrator.store import SessionStore
from ai_orchestrator.store.export import export_text
from tests.helpers import as_record, interaction

RNG = random.Random(20261201)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
PASSWORD_CHARS = ALNUM + "!%^*-_+"


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def password() -> str:
    # at least one digit, so no test depends on a guess about bare words
    return rand(string.ascii_letters, 6) + rand(string.digits, 2) + rand(PASSWORD_CHARS, 6)


# (shape, secret part, text it appears in)
Case = tuple[str, str, str]


def provider_cases() -> list[Case]:
    bodies: list[tuple[str, str, str]] = [
        # shape, public prefix, secret body
        ("anthropic", "sk-ant-api03-", rand(URLSAFE, 93) + "AA"),
        ("anthropic-admin", "sk-ant-admin01-", rand(URLSAFE, 93) + "AA"),
        ("openai-project", "sk-proj-", rand(URLSAFE, 120)),
        ("openai-legacy", "sk-", rand(ALNUM, 48)),
        ("stripe-live", "sk_live_", rand(ALNUM, 24)),
        ("stripe-restricted", "rk_live_", rand(ALNUM, 99)),
        ("stripe-test", "sk_test_", rand(ALNUM, 24)),
        ("stripe-webhook", "whsec_", rand(ALNUM, 32)),
        ("google-api", "AIza", rand(URLSAFE, 35)),
        ("google-oauth-access", "ya29.", rand(URLSAFE, 120)),
        ("google-oauth-refresh", "1//0", rand(URLSAFE, 60)),
        ("google-oauth-client-secret", "GOCSPX-", rand(URLSAFE, 28)),
        ("github-pat", "ghp_", rand(ALNUM, 36)),
        ("github-oauth", "gho_", rand(ALNUM, 36)),
        ("github-app", "ghs_", rand(ALNUM, 36)),
        ("github-fine-grained", "github_pat_", rand(ALNUM, 22) + "_" + rand(ALNUM, 59)),
        ("gitlab-pat", "glpat-", rand(URLSAFE, 20)),
        ("gitlab-runner", "glrt-", rand(URLSAFE, 20)),
        ("gitlab-deploy", "gldt-", rand(URLSAFE, 20)),
        ("slack-bot", "xoxb-", f"{rand(HEX[:10], 12)}-{rand(HEX[:10], 13)}-{rand(ALNUM, 24)}"),
        ("slack-user", "xoxp-", f"{rand(HEX[:10], 12)}-{rand(HEX[:10], 13)}-{rand(ALNUM, 32)}"),
        (
            "slack-app",
            "xapp-1-",
            f"A{rand(ALNUM.upper(), 10)}-{rand(HEX[:10], 13)}-{rand(HEX, 64)}",
        ),
        (
            "slack-webhook",
            "https://hooks.slack.com/services/",
            f"T{rand(ALNUM.upper(), 8)}/B{rand(ALNUM.upper(), 8)}/{rand(ALNUM, 24)}",
        ),
        ("sendgrid", "SG.", rand(URLSAFE, 22) + "." + rand(URLSAFE, 43)),
        ("huggingface", "hf_", rand(ALNUM, 34)),
        ("huggingface-org", "api_org_", rand(ALNUM, 34)),
        ("npm", "npm_", rand(ALNUM, 36)),
        ("pypi", "pypi-AgEIcHlwaS5vcmc", rand(URLSAFE, 70)),
        ("aws-key-id", "AKIA", rand(string.ascii_uppercase + string.digits, 16)),
        ("aws-sts-key-id", "ASIA", rand(string.ascii_uppercase + string.digits, 16)),
        ("twilio", "SK", rand(HEX, 32)),
        ("databricks", "dapi", rand(HEX, 32)),
        ("digitalocean", "dop_v1_", rand(HEX, 64)),
        ("shopify", "shpat_", rand(HEX, 32)),
        ("vault", "hvs.", rand(URLSAFE, 90)),
        ("doppler", "dp.pt.", rand(ALNUM, 43)),
        ("linear", "lin_api_", rand(ALNUM, 40)),
        ("groq", "gsk_", rand(ALNUM, 52)),
        ("xai", "xai-", rand(ALNUM, 80)),
        ("replicate", "r8_", rand(ALNUM, 37)),
        ("perplexity", "pplx-", rand(ALNUM, 48)),
        ("mailgun", "key-", rand(HEX, 32)),
        ("telegram", "", f"{rand(string.digits, 9)}:AA{rand(URLSAFE, 33)}"),
        ("azure-ad-client-secret", "", f"{rand(ALNUM, 3)}8Q~{rand(ALNUM, 34)}"),
        ("age", "AGE-SECRET-KEY-1", rand(string.ascii_uppercase + string.digits, 58)),
        (
            "jwt",
            "eyJhbGciOiJIUzI1NiJ9.",
            "eyJ" + rand(URLSAFE, 40) + "." + rand(URLSAFE, 43),
        ),
    ]
    contexts: list[Callable[[str], str]] = [
        lambda t: t,
        lambda t: f"use this key:\n{t}\nthanks",
        lambda t: f"curl -H 'X-Thing: {t}' https://api.example.com",
        lambda t: f'{{"note": "{t}"}}',
        lambda t: f"(see {t}).",
        lambda t: f"value={t}&next=1",
    ]
    cases = []
    for index, (shape, prefix, body) in enumerate(bodies):
        context = contexts[index % len(contexts)]
        cases.append((shape, body, context(prefix + body)))
    return cases


def structural_cases() -> list[Case]:
    cases: list[Case] = []

    def add(shape: str, make: Callable[[str], str], secret: str | None = None) -> None:
        value = secret or password()
        cases.append((shape, value, make(value)))

    body = rand(B64, 64)
    for header in (
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ):
        lines = "\n".join(rand(B64, 64) for _ in range(3))
        cases.append(
            (
                f"block {header}",
                body,
                f"key:\n-----BEGIN {header}-----\n{body}\n{lines}\n-----END {header}-----\nok",
            )
        )
    cases.append(("block cut off", body, f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n"))
    # credentials in URLs
    add("url https", lambda p: f"git clone https://deploy:{p}@git.example.com/o/r.git")
    add("url postgres", lambda p: f"DATABASE_URL=postgres://app:{p}@db.internal:5432/app")
    add("url postgres quoted", lambda p: f'url = "postgresql://app:{p}@localhost/app"')
    add("url mongodb+srv", lambda p: f"mongodb+srv://admin:{p}@cluster0.x.mongodb.net/db")
    add("url redis no user", lambda p: f"redis://:{p}@cache:6379/0")
    add("url amqp", lambda p: f"connect to amqp://guest:{p}@mq:5672/ now")
    # command lines
    add("curl -u", lambda p: f"curl -u admin:{p} https://api.example.com/v1")
    add("curl --user", lambda p: f"curl -s --user 'admin:{p}' https://x")
    add("mysql -p", lambda p: f"mysql -h db -u root -p{p} app < dump.sql")
    add("mysqldump -p", lambda p: f"mysqldump -uroot -p{p} --all-databases")
    add("sshpass -p", lambda p: f"sshpass -p {p} ssh deploy@host")
    add("sshpass -p single-quoted", lambda p: f"sshpass -p '{p}!' ssh deploy@host")
    add("mysql -p quoted", lambda p: f"mysql -u root -p'{p}&x' app")
    add("docker login -p", lambda p: f"docker login -u bob -p {p} registry.example.com")
    add("--password value", lambda p: f"psql --password {p} -h db")
    add("--password=value", lambda p: f"tool login --password={p}")
    add("--token value", lambda p: f"gh auth login --token {p}")
    add("--api-key value", lambda p: f"cli --api-key={p} run")
    add("--client-secret", lambda p: f"az login --client-secret {p} --tenant t")
    # shell, .env
    add("DB_PASS=", lambda p: f"DB_PASS={p}")
    add("export MYSQL_PWD", lambda p: f"export MYSQL_PWD={p}")
    add("PGPASSWORD=", lambda p: f"PGPASSWORD={p} psql -h db")
    add("APP_SECRET quoted", lambda p: f"APP_SECRET='{p}'")
    add("SLACK_TOKEN", lambda p: f'SLACK_TOKEN="{p}"')
    add("STRIPE_KEY", lambda p: f"STRIPE_KEY={p}")
    add("AWS_CREDENTIALS", lambda p: f"AWS_CREDENTIALS={p}")
    add("SESSION_SECRET", lambda p: f"SESSION_SECRET={p}")
    add("SESSION_COOKIE", lambda p: f"SESSION_COOKIE={p}")
    add("AUTH_HEADER value", lambda p: f"MY_AUTH={p}")
    add("set on windows", lambda p: f"set DB_PASSWORD={p}")
    add(".env block", lambda p: f"# .env\nDEBUG=1\nAPI_KEY={p}\nPORT=80")
    # YAML
    add("yaml password", lambda p: f"db:\n  user: app\n  password: {p}\n  port: 5432")
    add("yaml quoted", lambda p: f'db:\n  db_password: "{p}"')
    add("yaml next line", lambda p: f"db:\n  password:\n    {p}\n  port: 5432")
    add("yaml block", lambda p: f"secrets:\n  client_secret: |\n    {p}\n  other: 1")
    add("yaml list item", lambda p: f"users:\n  - name: a\n    password: {p}")
    add("yaml token base64", lambda p: f"token: {p}", rand(B64, 40) + "==")
    add("k8s secret data", lambda p: f"data:\n  secretKey: {p}", rand(B64, 40))
    # JSON, TOML, INI
    add("json password", lambda p: f'{{"user": "a", "password": "{p}"}}')
    add("json camel apiKey", lambda p: f'{{"apiKey": "{p}"}}')
    add("json client_secret", lambda p: f'{{"client_secret":"{p}","client_id":"x"}}')
    add("toml", lambda p: f'[db]\npassword = "{p}"')
    add("toml single", lambda p: f"api_key = '{p}'")
    add("ini", lambda p: f"[auth]\nsecret = {p}")
    # connection strings
    add("sqlserver", lambda p: f"Server=tcp:x;Database=y;User ID=sa;Password={p};Encrypt=true")
    add("odbc pwd", lambda p: f"Driver={{PostgreSQL}};Uid=app;Pwd={p};")
    add(
        "azure AccountKey",
        lambda p: (
            f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={p};"
            "EndpointSuffix=core.windows.net"
        ),
        rand(B64, 86) + "==",
    )
    add(
        "azure SharedAccessKey",
        lambda p: (
            f"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={p}"
        ),
        rand(B64, 43) + "=",
    )
    add(
        "azure SAS sig",
        lambda p: f"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-01-01&sig={p}",
        rand(ALNUM, 40) + "%2B" + rand(ALNUM, 8) + "%3D",
    )
    add(
        "aws presigned",
        lambda p: f"https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA/x&X-Amz-Signature={p}",
        rand(HEX, 64),
    )
    add("aws secret key", lambda p: f"aws_secret_access_key = {p}", rand(B64, 40))
    # headers
    add("Authorization Bearer", lambda p: f"GET / HTTP/1.1\nAuthorization: Bearer {p}\nAccept: */*")
    add("Authorization Basic", lambda p: f"authorization: Basic {p}", rand(B64, 24) + "=")
    add("Proxy-Authorization", lambda p: f"Proxy-Authorization: Basic {p}", rand(B64, 20))
    add("Cookie", lambda p: f"Cookie: sessionid={p}; theme=dark")
    add("Set-Cookie", lambda p: f"Set-Cookie: session={p}; HttpOnly; Secure")
    add("X-Api-Key", lambda p: f"curl -H 'X-Api-Key: {p}' https://api")
    add("x-auth-token", lambda p: f"x-auth-token: {p}")
    add("headers json", lambda p: f'{{"headers": {{"Authorization": "token {p}"}}}}')
    # a secret broken across a line
    key = rand(URLSAFE, 93) + "AA"
    cases.append(("split anthropic", key, f"key: sk-ant-api03-{key[:30]}\n{key[30:]}\nend"))
    cases.append(("split short first piece", key, f"sk-ant-api03-{key[:4]}\n{key[4:]}\nend"))
    ghp = rand(ALNUM, 36)
    cases.append(("split github", ghp, f"token ghp_{ghp[:20]}\n{ghp[20:]} is it"))
    cases.append(("split shell", ghp, f"echo ghp_{ghp[:25]}\\\n{ghp[25:]}"))
    cases.append(("split indented", ghp, f"token:\n  ghp_{ghp[:18]}\n    {ghp[18:]} end"))
    # shapes a QA pass found stored in clear (no name, or a command's own syntax)
    add("bare Bearer", lambda p: f"then send Bearer {p} with it", rand(URLSAFE, 32))
    add("netrc", lambda p: f"machine api.example.com login bob password {p}")
    hook = rand(URLSAFE, 68)
    cases.append(
        ("discord webhook", hook, f"post to https://discord.com/api/webhooks/123456789012345678/{hook}")
    )
    return cases


CASES = provider_cases() + structural_cases()

LOOK_ALIKES = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b fixes it (short: 3f78685)",
    "request id b3f532ac-daad-481a-bbba-188a766f97ea, session 9b1f3c2e-5d4a-4e8b-9a61-2f0c7d3e1a55",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "md5 d41d8cd98f00b204e9800998ecf8427e and sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
    '"integrity": "sha512-Q2Ox3jJ6rm1yYy4F1VtxPpPRxg3N3Y8Oz0yv3yY3fVd0uZ5C3nYj6NQ=="',
    "def tokenize(text):\n    return text.split()\n\ntokens = tokenize(prompt)",
    "token = next_token(stream)\nkey = cache_key(user)\nsession = Session()",
    "max_tokens: 4096\ninput_tokens=12\noutput_tokens: 7",
    '{"tokens": {"input": 100, "output": 50}, "session_name": "implement-auth-service"}',
    "session_name: implement-auth-service\nagent_session_id: conv-1\ntask_id: T1.1",
    "primary_key = True\nforeign_key: users.id\nsort_key = 'created_at'",
    "password_hash = bcrypt.hashpw(pw, salt)\npassword_min_length: 12",
    "def check(password: str) -> bool:\n    token: Optional[str] = None",
    "Passwords must be at least 12 characters long. Never commit your API key.",
    "The token count was 1500 and the secret to success is patience.",
    "Authentication failed: check your credentials and try again.",
    "Reset your password when prompted; authorization is required.",
    "export PATH=/usr/local/bin:$PATH\nHOME=/root\nLANG=en_US.UTF-8",
    "OPENAI_API_KEY=$OPENAI_API_KEY\npassword: ${DB_PASSWORD}\ntoken: <your-token>",
    "git clone https://github.com/acme/repo.git && psql postgres://localhost:5432/db",
    "git@github.com:acme/repo.git",
    "desk-ant-abcdefghijklmnopqrstuvwxyz risk-analysis-abcdefghijklmnopqrstuvwxyz",
    "keyboard shortcut: ctrl+k, monkey: banana, author: Jane Doe",
    "sig = inspect.signature(fn)\nfor key in keys: print(key)",
    "cache_key: user-42\nkey_id: 7\ntoken_type: bearer\nsecret_name: prod-db",
    "pytest -p no:cacheprovider -q\nmysql -u root -p",
    "see the docs at https://example.com/path?page=2&sort=asc",
    "T1.1 T2.3 todo-20261201T101500Z-0a1b2c3d4e5f c-0123456789abcdef0123456789abcdef",
    # test ids and paths with ``::`` are not ``name: value`` (red/green reads them back)
    "FAILED tests/test_auth.py::test_password_reset - AssertionError: assert 1 == 2",
    "tests/test_tokens.py::TestSecrets::test_session_token_expiry PASSED",
    "let t = auth::Token::new(); use crate::secret::Key;",
    "password_validators = [MinimumLengthValidator]\nauth_backends = (ModelBackend,)",
    "the bearer of bad news; machine learning password policy",
]


@pytest.mark.parametrize("shape, secret, text", CASES, ids=[c[0] for c in CASES])
def test_secret_is_redacted_from_text(shape: str, secret: str, text: str) -> None:
    cleaned = redact(text)
    assert "[REDACTED:" in cleaned, cleaned
    for start in range(0, max(1, len(secret) - 9)):
        piece = secret[start : start + 10]
        assert piece not in cleaned, f"{shape}: {piece!r} left in {cleaned!r}"


# A YAML value on the next line is recognised in text as written; every writer redacts
# before serialising (``redact_value``), so serialised lines need not carry it.
SERIALISED = [c for c in CASES if not c[0].startswith(("yaml next line", "yaml block"))]


@pytest.mark.parametrize("shape, secret, text", SERIALISED, ids=[c[0] for c in SERIALISED])
def test_redacted_serialised_line_stays_json(shape: str, secret: str, text: str) -> None:
    line = json.dumps({"text": text})
    cleaned = redact(line)
    assert json.loads(cleaned)["text"] != text
    assert secret[:10] not in cleaned and secret[-10:] not in cleaned


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_survive(text: str) -> None:
    assert redact(text) == text
    assert redact_value({"prompt": text, "notes": [text]}) == {"prompt": text, "notes": [text]}


def _leaks(data: str, secret: str) -> list[str]:
    return [
        secret[i : i + 10] for i in range(max(1, len(secret) - 9)) if secret[i : i + 10] in data
    ]


def test_no_secret_of_the_corpus_reaches_disk_or_export(session_dir: Path) -> None:
    """Every shape in the prompt, the response, raw events and free-form fields of
    stored records: no piece of any secret is in any file of the session, nor in the
    export; the look-alikes are stored verbatim."""
    store = SessionStore()
    for index, (_, _, text) in enumerate(CASES):
        store.record(as_record(
            "run-corpus",
            interaction(
                id=f"r{index}",
                prompt=text,
                response_preview=text,
                raw_events=[{"type": "message", "content": text}, {"type": "tool", "input": text}],
                notes={"nested": [text], "env": {"VALUE": text}},
            ),
        ))
    for index, text in enumerate(LOOK_ALIKES):
        store.record(as_record("run-corpus", interaction(id=f"look{index}", prompt=text)))
    on_disk = "\n".join(
        path.read_text("utf-8", errors="replace")
        for path in (session_dir / "run-corpus").iterdir()
        if path.is_file()
    )
    exported = export_text(store)
    for shape, secret, _ in CASES:
        assert not _leaks(on_disk, secret), f"{shape} leaked to disk"
        assert not _leaks(exported, secret), f"{shape} leaked to the export"
    stored = {r.id: r.to_json() for r in store.read_log("run-corpus").records}
    for index, text in enumerate(LOOK_ALIKES):
        assert stored[f"look{index}"]["prompt"] == text


@pytest.mark.parametrize(
    "token, kind",
    [
        ("ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "github-token"),
        ("glpat-x1Y2z3W4v5U6t7S8r9Q0", "gitlab-token"),
        ("sk_live_51Hq2aBcDeFgHiJkLmNoPqRs", "stripe-key"),
    ],
)
@pytest.mark.parametrize("brk", ["\n", "\r\n", "\\n"])
def test_a_token_ending_a_line_never_takes_the_next_line_with_it(
    token: str, kind: str, brk: str
) -> None:
    """A complete token is not a split one: the word on the next line is text to keep."""
    text = f"found {token}{brk}rotate it now{brk}summary: ok"
    assert redact(text) == f"found [REDACTED:{kind}]{brk}rotate it now{brk}summary: ok"
