"""A real PostgreSQL server for the tests and the load benchmark: Debian's package, started in a temp folder.

`initdb` into a fresh folder, `pg_ctl start` on a free loopback port with the
unix socket inside that folder, one role with a password (scram over TCP, so a
wrong password is refused as in production), and `stop()` at the end. The
server refuses to run as root, and tests and CI run as root: then initdb and
pg_ctl run as the unprivileged `postgres` user the package created, through
runuser, and the folder is handed to it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN_DIRS = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]
SUPERUSER_PASSWORD = "cadrebot-test-superuser"
INSTALL = "Install it: apt-get install postgresql (Debian/Ubuntu)"


def find_bin() -> Path | None:
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    return next((d for d in BIN_DIRS if (d / "pg_ctl").is_file()), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cadrebot-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        self._databases = 0
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def start(self) -> "PostgresServer":
        pwfile = self.root / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD)
        if self.as_user:
            shutil.chown(pwfile, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
                  f"--pwfile={pwfile}", "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                  "start")
        return self

    def url(self, user: str = "postgres", password: str = SUPERUSER_PASSWORD, dbname: str = "postgres") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """A fresh, empty database owned by a role of its own; its URL."""
        import psycopg

        self._databases += 1
        name = f"cadrebot_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}'")
            conn.execute(f"CREATE DATABASE {name} OWNER {name}")
        return self.url(name, f"pw-{name}", name)

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
