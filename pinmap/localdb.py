"""A project-managed local PostgreSQL + PostGIS cluster (for `make run` and the test suite).

Imports neither Flask nor the app: it only drives the Debian PostgreSQL binaries. initdb and
pg_ctl refuse to run as root, so when we are root every server-side command runs as the
`postgres` OS user that the Debian package creates.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

SERVER_USER = "postgres"


class LocalDBError(RuntimeError):
    """The local cluster could not be set up or started; the message says why."""


def find_bindir() -> Path:
    """Newest /usr/lib/postgresql/<major>/bin whose server has the PostGIS extension installed."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parent.parent.name),
        reverse=True,
    )
    for ctl in candidates:
        major = Path(ctl).parent.parent.name
        if glob.glob(f"/usr/share/postgresql/{major}/extension/postgis.control"):
            return Path(ctl).parent
    raise LocalDBError(
        "No PostgreSQL server with PostGIS found under /usr/lib/postgresql; install "
        "postgresql-15 postgresql-15-postgis-3 (make deps does this)."
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """One cluster in `datadir`, listening on 127.0.0.1:`port` and on a socket inside `datadir`."""

    datadir: Path
    port: int
    bindir: Path = field(default_factory=find_bindir)

    def __post_init__(self) -> None:
        self.datadir = Path(self.datadir).resolve()
        self.secret_file = self.datadir.parent / (self.datadir.name + ".superuser")

    # -- running commands --------------------------------------------------------------------
    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return proc

    def _chown_to_server_user(self, path: Path) -> None:
        if self._as_root:
            pw = pwd.getpwnam(SERVER_USER)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> None:
        if self.initialised:
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        # The server user must be able to reach the data dir through every parent.
        for parent in [self.datadir.parent, *self.datadir.parent.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
        os.chmod(self.datadir, 0o700)
        self._chown_to_server_user(self.datadir)
        password = secrets.token_urlsafe(24)
        self.secret_file.write_text(password)
        os.chmod(self.secret_file, 0o600)
        self._chown_to_server_user(self.secret_file)
        proc = self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-U",
            SERVER_USER,
            f"--pwfile={self.secret_file}",
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        if self._as_root:
            os.chmod(self.secret_file, 0o600)
            os.chown(self.secret_file, 0, 0)
        if proc.returncode != 0:
            raise LocalDBError(f"initdb failed:\n{proc.stderr}")
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.datadir}'",
        ]
        if os.environ.get("PINMAP_PG_FSYNC") == "off":
            # Throwaway test clusters only: durability is not worth the I/O there.
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with (self.datadir / "postgresql.auto.conf").open("a") as fh:
            fh.write("\n".join(settings) + "\n")

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.datadir), "status").returncode == 0

    def start(self) -> None:
        if self.running:
            return
        log = self.datadir / "server.log"
        proc = self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port}",
            "start",
        )
        if proc.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise LocalDBError(f"pg_ctl start failed:\n{proc.stderr}\n{tail}")

    def stop(self) -> None:
        if self.initialised and self.running:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.secret_file.unlink(missing_ok=True)

    # -- databases ---------------------------------------------------------------------------
    def superuser_url(self, dbname: str = "postgres") -> str:
        password = self.secret_file.read_text().strip()
        return f"postgresql://{SERVER_USER}:{password}@127.0.0.1:{self.port}/{dbname}"

    def ensure_database(self, dbname: str, owner: str) -> str:
        """Create role `owner` and database `dbname` with PostGIS; return the app's SQLAlchemy URL.

        The role's password lives in a file beside the data dir, so reruns reuse it.
        """
        pw_file = self.datadir.parent / f"{self.datadir.name}.{owner}.password"
        if not pw_file.exists():
            pw_file.write_text(secrets.token_urlsafe(24))
            os.chmod(pw_file, 0o600)
        password = pw_file.read_text().strip()
        with psycopg.connect(self.superuser_url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [owner]).fetchone()
            stmt = (
                "ALTER ROLE {} LOGIN PASSWORD {}" if exists else "CREATE ROLE {} LOGIN PASSWORD {}"
            )
            conn.execute(sql.SQL(stmt).format(sql.Identifier(owner), sql.Literal(password)))
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [dbname]
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(dbname), sql.Identifier(owner)
                    )
                )
        # PostGIS is not a trusted extension: the superuser creates it once per database.
        with psycopg.connect(self.superuser_url(dbname), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return f"postgresql+psycopg://{owner}:{password}@127.0.0.1:{self.port}/{dbname}"

    def up(self, dbname: str, owner: str) -> str:
        self.init()
        self.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                return self.ensure_database(dbname, owner)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pinmap.localdb", description=__doc__)
    parser.add_argument("action", choices=["up", "stop", "status", "destroy"])
    parser.add_argument("--datadir", default="var/pg")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PINMAP_PG_PORT", "54329")))
    parser.add_argument("--db", default="pinmap")
    parser.add_argument("--owner", default="pinmap")
    parser.add_argument("--url-file", help="write the app's DATABASE_URL here (mode 600)")
    args = parser.parse_args(argv)
    try:
        cluster = Cluster(Path(args.datadir), args.port)
        if args.action == "up":
            url = cluster.up(args.db, args.owner)
            if args.url_file:
                path = Path(args.url_file)
                path.write_text(url + "\n")
                os.chmod(path, 0o600)
            print(f"PostGIS cluster {cluster.datadir} on 127.0.0.1:{cluster.port}")
        elif args.action == "stop":
            cluster.stop()
        elif args.action == "status":
            print("running" if cluster.initialised and cluster.running else "stopped")
        elif args.action == "destroy":
            cluster.destroy()
    except LocalDBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
