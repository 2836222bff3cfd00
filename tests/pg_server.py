"""A private PostgreSQL server for tests: own data directory, own port, trust auth.

Uses Debian's binaries (``initdb``, ``pg_ctl`` on PATH or under
``/usr/lib/postgresql/*/bin``). PostgreSQL refuses to run as root, so when the
tests run as root the server runs as an unprivileged user (``postgres`` if it
exists, else ``nobody``) that owns the temporary directory.

    with PostgresServer() as pg:
        engine = sqlalchemy.create_engine(pg.url)
"""
from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

__all__ = ["PostgresServer", "PostgresUnavailable", "find_pg_bin"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine."""


def find_pg_bin() -> Path | None:
    """Folder holding initdb and pg_ctl: PATH first, then the newest Debian version."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> str | None:
    """The user to run the server as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
            return user
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and neither a 'postgres' nor a 'nobody' user exists")


class PostgresServer:
    """Start a throw-away server; ``url`` is a ``postgresql://`` SQLAlchemy URL."""

    def __init__(self, bin_dir: Path | None = None, database: str = "salesmodel_test") -> None:
        self.bin_dir = bin_dir or find_pg_bin()
        if self.bin_dir is None:
            raise PostgresUnavailable("no PostgreSQL binaries (initdb, pg_ctl) on PATH or under "
                                      "/usr/lib/postgresql/*/bin; install Debian's 'postgresql' package")
        self.user = _run_as()
        self.database = database
        self.root: Path | None = None
        self.port: int | None = None

    # --- helpers -----------------------------------------------------------
    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if not self.user:
            return cmd
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(p)), None)
        if runuser:
            return [runuser, "-u", self.user, "--", *cmd]
        su = shutil.which("su") or "/bin/su"
        return [su, "-s", "/bin/sh", self.user, "-c", shlex.join(cmd)]

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        return subprocess.run(self._cmd(*args), cwd=self.root, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def _log(self) -> str:
        log = self.root / "server.log" if self.root else None
        return log.read_text(errors="replace")[-3000:] if log and log.exists() else ""

    def _base_dir(self) -> str:
        """A temp folder the server's user can reach (TMPDIR may be private to root)."""
        base = Path(tempfile.gettempdir()).resolve()
        if not self.user:
            return str(base)
        reachable = all(os.stat(p).st_mode & 0o001 for p in [base, *base.parents])
        return str(base) if reachable else "/tmp"

    # --- lifecycle ----------------------------------------------------------
    def start(self) -> Self:
        self.root = Path(tempfile.mkdtemp(prefix="salesmodel-pg-", dir=self._base_dir()))
        data, sock = self.root / "data", self.root / "sock"
        sock.mkdir()
        if self.user:
            pw = pwd.getpwnam(self.user)
            for p in (self.root, sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o700)
        res = self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--locale=C", "--no-sync")
        if res.returncode != 0:
            self.stop()
            raise RuntimeError(f"initdb failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        last = ""
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = _free_port()
            opts = (f"-p {self.port} -h 127.0.0.1 -k {sock} -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off -c shared_buffers=16MB -c max_connections=20")
            res = self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"),
                            "-o", opts, "-w", "-t", "60", "start")
            if res.returncode == 0:
                break
            last = f"{res.stdout}\n{res.stderr}\n{self._log()}"
        else:
            self.stop()
            raise RuntimeError(f"pg_ctl start failed:\n{last}")
        self._create_database()
        return self

    def _create_database(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                     dbname="postgres", autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{self.database}"')
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def stop(self) -> None:
        if self.root is None:
            return
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
