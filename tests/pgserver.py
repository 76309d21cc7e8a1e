"""A throwaway PostgreSQL cluster for tests and benchmarks: ``initdb`` + ``pg_ctl`` on a free
port, data and socket in a temporary directory, removed by ``stop``.

The server refuses to run as root, so as root every server command runs as the ``postgres``
system user (``runuser -u postgres --``) in a directory that user owns. Connections go over
TCP to 127.0.0.1 with SCRAM passwords (the superuser's password is in ``password``), so the
same code paths as a real team server are exercised. ``binaries()`` is ``None`` when no
server can be had: callers skip loudly then.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "aio_admin"


def binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(Path(candidate) / "initdb", os.X_OK):
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One cluster; ``url(db)`` connection URLs (no password: use ``pgpass`` or ``password``)."""

    def __init__(self, bindir: Path, *, fsync: bool = False) -> None:
        self.bindir = bindir
        self.as_postgres = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="aio-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.password = "s3cret-Pw!" + os.urandom(6).hex()
        self.fsync = fsync
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o700)

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        return subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, check=check, timeout=120
        )

    def start(self) -> PgServer:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
            "--pwfile", str(pwfile), "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale",
        )  # fmt: skip
        pwfile.unlink()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            f"-c max_connections=60 -c fsync={'on' if self.fsync else 'off'} "
            "-c synchronous_commit=" + ("on" if self.fsync else "off")
        )
        self.options = options
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def halt(self) -> None:
        """Stop the server, keeping its data (``start_again`` brings it back)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def start_again(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", self.options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                  "stop", check=False)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str = "postgres", *, user: str = SUPERUSER, password: bool = False) -> str:
        secret = f":{self.password}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{db}"

    def pgpass(self, path: Path) -> Path:
        """A ``~/.pgpass``-format file for this server (mode 0600, as libpq requires)."""
        path.write_text(f"127.0.0.1:{self.port}:*:{SUPERUSER}:{self.password}\n")
        path.chmod(0o600)
        return path

    def admin(self, db: str = "postgres") -> object:
        import psycopg

        return psycopg.connect(self.url(db, password=True), autocommit=True)

    def create_db(self, name: str) -> str:
        conn = self.admin()
        try:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
        finally:
            conn.close()  # type: ignore[attr-defined]
        return name


def wait_until(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False
