"""Real servers for the tests: PostgreSQL, Prometheus and Alertmanager, on loopback ports.

Each runs from its Debian binary (installed by ``scripts/setup.sh --test`` as root) in a
temporary folder and is stopped after the session. ``missing(...)`` says what to install;
under CI (``CI=true``) a missing server fails the run instead of skipping its tests.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, NoReturn

from foundation.kafka.broker import free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
INSTALL_HINT = "run scripts/setup.sh --test as root (apt-get install {pkg})"


class ServerUnavailable(RuntimeError):
    """The server's binary is missing or it would not start."""


def unavailable(exc: Exception) -> NoReturn:
    """Skip the test, naming what to install; under CI, fail it instead."""
    import pytest

    if IN_CI:
        pytest.fail(f"CI=true and a server the tests need is unavailable: {exc}", pytrace=False)
    pytest.skip(str(exc))


BACKENDS = ["sqlite", "postgresql"]


def empty_store_url(request: Any, backend: str, folder: Path) -> str:
    """A URL of an empty store: a SQLite file in ``folder``, or a new PostgreSQL database
    (``request`` is the test's pytest request, for the session ``postgres`` fixture)."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'store.db'}"
    pg: PostgresServer = request.getfixturevalue("postgres")
    return pg.create_database()


def _wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise ServerUnavailable(f"exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise ServerUnavailable(f"{url} did not answer within {timeout} s")


def _pg_bindir() -> Path | None:
    if env := os.environ.get("FINPULSE_TEST_PG_BIN"):
        return Path(env)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """A throwaway PostgreSQL cluster: ``initdb`` + ``pg_ctl`` in a temp folder.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres``
    user (Debian's package creates it) and its commands run through ``runuser``.
    """

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None or not (bindir / "pg_ctl").exists():
            raise ServerUnavailable(
                "PostgreSQL is not installed; " + INSTALL_HINT.format(pkg="postgresql")
            )
        self.bindir = bindir
        self.port = free_port()
        self.user = "finpulse"
        self.dir = Path(tempfile.mkdtemp(prefix="finpulse-pg-"))
        self.data = self.dir / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("running as root and there is no 'postgres' user") from None
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [*self._as, str(self.bindir / args[0]), *args[1:]]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise ServerUnavailable(f"{args[0]} failed ({res.returncode}): {res.stderr[-2000:]}")

    def start(self) -> PostgresServer:
        self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        # fsync off: a test cluster trades durability for speed; a Unix socket only in our dir.
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=200"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "server.log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    @property
    def log(self) -> str:
        p = self.dir / "server.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(ServerUnavailable, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


class _Daemon:
    """A server binary in its own process group, output to a log in its temp folder."""

    binary = ""
    package = ""

    def __init__(self) -> None:
        exe = shutil.which(self.binary)
        if exe is None:
            raise ServerUnavailable(
                f"{self.binary} is not installed; " + INSTALL_HINT.format(pkg=self.package)
            )
        self.exe = exe
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"finpulse-{self.binary}-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        p = self.dir / "server.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def _spawn(self, args: list[str], ready_path: str) -> None:
        fh = (self.dir / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [self.exe, *args],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        fh.close()
        try:
            _wait_http(self.base + ready_path, 60, self.proc)
        except ServerUnavailable as exc:
            self.stop()
            raise ServerUnavailable(f"{self.binary}: {exc}\n{self.log[-2000:]}") from None

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                # Throwaway data: no need to wait for a graceful TSDB shutdown.
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


class Prometheus(_Daemon):
    """Prometheus scraping ``targets`` every second (``reload`` after changing them)."""

    binary = "prometheus"
    package = "prometheus"

    def start(self, targets: list[str] | None = None) -> Prometheus:
        self.write_config(targets or [])
        self._spawn(
            [
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            "/-/ready",
        )
        return self

    def write_config(self, targets: list[str]) -> None:
        cfg = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": "finpulse", "static_configs": [{"targets": targets}]}],
        }
        # JSON is YAML: no YAML writer needed.
        (self.dir / "prometheus.yml").write_text(json.dumps(cfg))

    def set_targets(self, targets: list[str]) -> None:
        self.write_config(targets)
        req = urllib.request.Request(self.base + "/-/reload", method="POST")
        urllib.request.urlopen(req, timeout=10).close()

    def query(self, expr: str) -> list[dict[str, Any]]:
        from urllib.parse import quote

        body = self.get_json("/api/v1/query?query=" + quote(expr))
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


class Alertmanager(_Daemon):
    """Alertmanager routing every alert to one webhook receiver, grouped by rule and scope."""

    binary = "prometheus-alertmanager"
    package = "prometheus-alertmanager"

    def start(self, webhook_url: str, group_by: list[str]) -> Alertmanager:
        cfg = {
            "route": {
                "receiver": "hook",
                "group_by": group_by,
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "hook", "webhook_configs": [{"url": webhook_url}]}],
        }
        (self.dir / "alertmanager.yml").write_text(json.dumps(cfg))
        self._spawn(
            [
                f"--config.file={self.dir / 'alertmanager.yml'}",
                f"--storage.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # One instance: an empty cluster address turns the gossip (HA) mode off.
                "--cluster.listen-address=",
            ],
            "/-/ready",
        )
        return self


def count_rows(engine: Any, table: str = "documents") -> int:
    """Rows in ``table`` of the store behind ``engine`` (tests read the tables directly)."""
    from sqlalchemy import func, select
    from sqlalchemy import table as sql_table

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(sql_table(table))).scalar_one())
