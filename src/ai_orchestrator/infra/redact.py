"""Redaction of secrets before anything is written from prompts or agent output.

Applied to every file aio writes from prompts and agent output: the session store
(``records.stored_form``), the todo log (``store.todo_log``), lock holder records, and
the ``.aio/`` workspace (``history.jsonl``, ``feature.yaml``/``plan.yaml``, artifacts).

Contract
--------
``redact(text)`` returns ``text`` with every recognised secret replaced by
``[REDACTED:<kind>]`` (the kind is a short, non-secret hint). ``redact_value(value)``
does the same for every string of JSON-like data, *before* it is serialised (so the
rules see the text as written), replaces a string stored under a secret-looking key
whole (``{"Authorization": "Bearer …"}``), and leaves the values of the keys in ``keep``
untouched — ids, names and timestamps are never redacted (callers validate them to a
safe character set instead, see ``names.validate_id``), so a secret-looking id can never
collapse two records into one.

What is recognised (the classes, each with tests in tests/store/test_redact*.py; the
corpus ``benchmarks/secret_corpus.txt`` holds a realistic example of each, with
look-alikes):

1. **Provider tokens by prefix/shape** (``secret_tokens._TOKENS``): Anthropic, OpenAI, Google
   (API key, OAuth access/refresh tokens, ``GOCSPX-`` client secrets), GitHub, GitLab, Slack
   tokens and webhooks, Stripe, SendGrid, Hugging Face, npm, PyPI, AWS (key ids, Bedrock),
   Azure AD client secrets, DigitalOcean, Databricks, Shopify, Twilio, Vault, Doppler,
   Linear, Notion, Postman, Pulumi, Perplexity, Groq, xAI, Replicate, Sentry, age,
   Atlassian (also Bitbucket ``ATBB`` app passwords), Grafana, 1Password, Brevo, Heroku,
   PlanetScale, RubyGems, Square, Facebook, Mailgun, Telegram, Dynatrace, New Relic,
   Cloudflare, Discord bot tokens, Teams webhooks, JWTs and every other prefixed shape of
   gitleaks' and detect-secrets' rule sets (Adobe, Alibaba, Airtable, Artifactory,
   ClickHouse, Clojars, Defined Networking, Duffel, EasyPost, Flutterwave, Fly.io, Frame.io,
   Harness, Infracost, 42, Lob, Mapbox, MaxMind, Octopus, OpenShift, Plaid, Prefect,
   ReadMe, Scalingo, SettleMint, Shippo, Sourcegraph, Twitter bearer, Typeform, Yandex,
   Dropbox). A token must start at a word boundary (``desk-ant-…`` is not a key). A token
   broken across a line break (``\\n``, ``\\r\\n``, shell ``\\``-newline or a JSON-escaped
   ``\\n``) is found on the joined text and both pieces are redacted, when one of the
   pieces has at least 20 characters.
2. **Private key blocks**: PEM (``-----BEGIN … PRIVATE KEY-----``), OpenSSH and PGP
   (``PRIVATE KEY BLOCK``), up to the matching END line, or when cut off up to the last
   line of key material (so what follows a cut block is judged on its own).
3. **Credentials in URLs**: ``scheme://user:password@host`` (https, postgres, mysql,
   mongodb+srv, redis, amqp, …) keeps the user and redacts the password (the user too when
   it is a key id).
4. **Named values**: names containing PASS/PASSWD/PASSWORD/PWD, SECRET, TOKEN, KEY,
   CREDENTIAL, AUTH, COOKIE, SESSION, SIG/SIGNATURE, PAT, BEARER, PSK (any case,
   snake/kebab/camel/dotted; ``client-key-data``, ``password_b64``: a value word after
   the secret word still names it) and the value after them in any syntax: ``name =
   value`` in shell and ``.env``, YAML (also with the value on the next line or a ``|``/``>``
   block), JSON, TOML/INI, URL query strings, connection strings (``Password=…;``,
   ``AccountKey=…;``), typed declarations (``API_TOKEN: str = "v"``, ``var pw string =
   "v"``), subscripts (``os.environ["X_KEY"] = "v"``), CLI flags (``--password x``,
   ``--token=x``, ``-storepass x``), the next argument or list item
   (``Setenv("STRIPE_API_KEY", "v")``, ``["--password", "v"]``), XML elements
   (``<password>v</password>``), positional values after ``ENV``/``ARG``/``set``/``config``
   or on a ``.netrc`` line, prose (``the password is v``), a high-entropy value anywhere
   after a strong name, calls named after a secret (``setPassword("v")``,
   ``HTTPBasicAuth("user", "v")``) and headers: ``Authorization``,
   ``Proxy-Authorization``, ``Cookie``/``Set-Cookie`` (the rest of the line), ``X-Api-Key``
   and friends (``secret_rules._named_spans`` with ``secret_context.after_name``).
5. **A secret split across the fields of one record**: a field that names a secret and the
   record's value field (``{"name": "DB_PASSWORD", "value": "v"}``, ``{"keyName": "key1",
   "value": "v"}``, ``<add key="ApiKey" value="v"/>``, ``variable "db_password" { default =
   "v" }``, ``- name: X`` / ``value: v``), in text and in ``redact_value``'s mappings and
   lists (``["aws", "configure", "set", "aws_secret_access_key", "v"]``).
6. **Secrets by position** (``secret_context.context_spans``): commands that store a
   secret (``gh secret set X --body v``, ``doppler secrets set X v``, ``heroku config:set
   X=v``, ``kubectl create secret … --from-literal=k=v``, ``aws ssm put-parameter --value
   v``, ``echo v | vercel env add X``), credential calls (``Client("AC…", "<token>")``,
   ``client.login(user, "v")``), the line after a prompt that prints a secret (``$ gh auth
   token``), Kubernetes ``Secret`` data, ``.pgpass`` lines, Bundler host credentials,
   ``curl -u``/``http -a``/``--auth user:pass``, ``mysql -pPASS``, ``sshpass -p``,
   ``ssh-keygen -N``, ``htpasswd -b``.

Look-alikes are kept: git SHAs, UUIDs, hashes, base64 data (no rule matches a bare value
outside a credential position), ordinary code (``def tokenize(text)``, ``token =
next_token(s)``, ``max_tokens: 4096``, ``session_name: implement-x``, ``primary_key =
…``, ``def f(token: Token)``, ``getpass("Password: ")``, ``x == token``), placeholders
(``$VAR``, ``${VAR}``, ``{var}``, ``<token>``, ``***``, ``DATA+OMITTED``) and prose. Names
that only *describe* a secret (``token_count``, ``password_hash_algorithm``, ``key_id``,
``refresh_token_expiry_seconds`` — see ``_NOT_SECRET_TAILS``) are not secret names; weak
names (a bare ``key``, ``auth``, ``session``, ``sig``, ``cookie`` names inside code) need a
token-like value (no spaces, 8+ characters with a digit, or 20+ characters) before their
value is redacted. A value with ``::`` (``pass: tests/test_x.py::test_y``), a short number
(``expiry: 3600``) or an ARN-like ``a:b:c`` path is not a secret. Every span covers the
value's characters only, never a quote or bracket, so redacted code still parses.

Invariant: what is inserted never contains ``"`` or ``\\``, so ``redact`` applied to an
already serialised JSON line keeps it valid JSON.

Cost: the text is lowered once, through an ASCII bytes copy (``str.lower`` costs several
times more on text that is not all ASCII); on that copy ``bytes.find`` finds the runs of
20+ token characters, and only the starts of their segments are matched, each against
the few provider shapes that can start with its literal start. Named values and
positional classes start at literals (keywords, command words) found with ``str.find``
on the lowered text, the pattern matched at each (the regex engine's own scan for a
literal prefix is twice as slow, and an alternation or a character class at the start
of a pattern makes it try every position: each costs milliseconds per MB).
``benchmarks/bench_redact.py`` measures a 1 MB prompt (target ≤ 50 ms) and the corpus
(0 leaks, false positives ≤ 2%), beside detect-secrets. The rules live in
``infra.secret_rules`` (provider token shapes in ``infra.secret_tokens``, URL, Bearer,
``.netrc`` and command-line credentials in ``infra.secret_shapes``, classes found by
position in ``infra.secret_context``), imported on the first call that needs them.

Choice of rules
---------------
Evaluated: Yelp's detect-secrets (Apache-2.0, last release 1.5.0 in May 2024, 27
line-based plugins, pulls in ``requests``; no Anthropic, Hugging Face or ``GOCSPX-``
rules, and its high-entropy plugins flag hashes and SHAs, which must survive here),
gitleaks' rule set (MIT, 222 rules in one TOML file, maintained — a release every few
weeks), secrets-patterns-db (1,600 unreviewed regexes, many overlapping and slow) and
GitGuardian's ggshield (needs their API). gitleaks' rules have the best coverage and
upkeep, but executing them as written does not fit: they are RE2 (25 of 221 regexes do
not compile in Python's ``re``), rely on an Aho-Corasick keyword prefilter (pure Python:
120-270 ms per MB for the keyword scan alone, against a 50 ms budget), and half of them
are context rules (``twitter … = value``) that the named-value class above covers more
broadly. Run through google-re2 (a native dependency) all 221 scan 1 MB in ~6 ms once
warm, but building the DFA costs 0.5-0.75 s in every new process — every
``aio session record`` would pay it. So the provider shapes in ``_TOKENS`` are taken from
gitleaks v8.30 where it has them (rule ids in the comments; MIT, Copyright (c) 2019
Zachary Rice), the rest from the providers' documented formats, and the structural
classes are ours. Keeping ``_TOKENS`` in step with gitleaks' ``config/gitleaks.toml`` is
the maintenance task; the corpus test fails for any shape that stops being redacted.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

_MIN_SECRET_TEXT = 8  # nothing shorter can hold a recognisable secret


def redact(text: str) -> str:
    """``text`` with every recognised secret replaced by ``[REDACTED:<kind>]``."""
    if len(text) < _MIN_SECRET_TEXT:
        return text
    from ai_orchestrator.infra import secret_rules

    return secret_rules.redact(text)


def redact_bytes(data: bytes) -> bytes:
    """``redact`` for file contents: UTF-8 text (undecodable bytes pass through as they
    are, so a log with binary noise is still redacted and otherwise unchanged)."""
    text = data.decode("utf-8", errors="surrogateescape")
    cleaned = redact(text)
    return data if cleaned == text else cleaned.encode("utf-8", errors="surrogateescape")


def secret_key_kind(key: str) -> str | None:
    """The hint for a mapping key whose (string) value is a secret, else ``None`` (weak
    names such as a bare ``key`` or ``session`` count only with a token-like value: see
    ``redact_value``)."""
    from ai_orchestrator.infra import secret_rules

    return secret_rules.secret_key_kind(key)


def redact_value(
    value: Any, key: str | None = None, *, keep: Collection[str] = (), nested: bool = False
) -> Any:
    """A copy of ``value`` (JSON-like data) with secrets in every string redacted.

    ``key`` is the mapping key ``value`` is stored under: a non-empty string under a
    secret-looking key is replaced whole (placeholders such as ``$VAR`` are kept).
    ``keep``: keys whose values are left as they are — ids, names and timestamps, which
    the caller validates instead. They are kept in the top-level mapping only, or at
    every level with ``nested`` (a plan's task ids and dependencies).
    """
    from ai_orchestrator.infra import secret_rules

    return secret_rules.redact_value(value, key, keep=keep, nested=nested)
