"""``finpulse demo``: the whole stack on one machine, supervised.

Starts the embedded broker (in this process's care), then child processes, each in its own
process group with its output prefixed by its role: ``[worker]`` (``finpulse worker``),
``[dashboard]`` (``finpulse dashboard``) and ``[ingest]`` (``finpulse ingest`` for live feeds
when the network answers, else a replay of the bundled sample: the history fast, then its last
minutes in real time). Ctrl-C or SIGTERM stops every child (SIGTERM to its group, then SIGKILL
after a grace period) and then the broker; on Linux the children also die with this process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from foundation.errors import BrokerError, ConfigError
from foundation.paths import broker_log
from foundation.settings import Settings

log = logging.getLogger(__name__)

SAMPLE = Path(str(resources.files("ingest") / "data" / "demo_sample.jsonl.gz"))
SAMPLE_ANCHOR = datetime(2000, 1, 2, tzinfo=UTC)  # "now" in the sample (DEMO_SAMPLE.md)
HISTORY_MAX_RATE = 150.0  # docs/s: fast, but the dashboard still sees them arrive
# The sample's day of history in about 70 s. Faster, the worker's partitions drift apart by
# more than the allowed lateness in event time and a third of the history arrives "late"
# (counted, not windowed): 424 of 1,411 at 150 docs/s unpaced, measured.
HISTORY_SPEED = 1200.0
GRACE_S = 10.0
_print_lock = threading.Lock()


def say(prefix: str, text: str, stream: IO[str] | None = None) -> None:
    with _print_lock:
        out = stream or sys.stdout
        out.write(f"[{prefix}] {text}\n")
        out.flush()


def network_reachable(urls: Sequence[str], timeout: float = 2.0, hosts: int = 3) -> bool:
    """True when a TCP connection to one of the first few feed hosts succeeds (bounded)."""
    targets: list[tuple[str, int]] = []
    for u in urls:
        p = urlparse(u)
        if p.hostname and p.scheme in ("http", "https"):
            t = (p.hostname, p.port or (443 if p.scheme == "https" else 80))
            if t not in targets:
                targets.append(t)
        if len(targets) >= hosts:
            break
    if not targets:
        return False

    def probe(t: tuple[str, int]) -> bool:
        try:
            with socket.create_connection(t, timeout=timeout):
                return True
        except OSError:
            return False

    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        return any(pool.map(probe, targets))


class Child:
    """One supervised process: own process group, output pumped with a ``[name]`` prefix."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        on_line: Callable[[str, str], None] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.on_line = on_line
        self.proc: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> Child:
        from foundation.kafka.broker import _die_with_parent

        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._pump = threading.Thread(target=self._read, name=f"pump-{self.name}", daemon=True)
        self._pump.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            say(self.name, line)
            if self.on_line is not None:
                self.on_line(self.name, line)

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, grace: float = GRACE_S) -> None:
        if self.proc is None:
            return
        self.signal(signal.SIGTERM)
        if not self.wait(grace):
            say("demo", f"{self.name} did not stop within {grace:.0f} s: killing it")
            self.signal(signal.SIGKILL)
            self.wait(5.0)
        # Anything left in its group (a grandchild) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self._pump is not None:
            self._pump.join(timeout=2.0)


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        *,
        force_replay: bool | None = None,
        dashboard_port: int | None = None,
        python: str = sys.executable,
    ) -> None:
        self.settings = settings
        self.force_replay = force_replay
        self.dashboard_port = dashboard_port or settings.dashboard.port
        self.python = python
        self.children: dict[str, Child] = {}
        self.stopping = threading.Event()
        self.worker_ready = threading.Event()
        self.broker: Any = None
        self._replay_phases: list[list[str]] = []

    # -- process set-up --------------------------------------------------------------------
    def _env(self, bootstrap: str) -> dict[str, str]:
        env = dict(os.environ)
        env["FINPULSE_BROKER__URL"] = f"kafka://{bootstrap}"
        if self.settings.broker.url is None:
            # Children see a URL now; they must still apply the embedded-broker work-arounds.
            env["FINPULSE_BROKER__EMBEDDED"] = "true"
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("FINPULSE_ROLE", None)  # the supervisor prefixes lines itself
        return env

    def _check_model(self, env: dict[str, str]) -> None:
        """Without a trained model installed, the demo runs on the baseline and says so."""
        if self.settings.model.path is not None:
            return
        from models.registry import SHIPPED_MODEL

        if not SHIPPED_MODEL.exists():
            say(
                "demo",
                f"the shipped model is not installed ({SHIPPED_MODEL}): classifying with the "
                "lexicon BASELINE instead (not the model; train one with `finpulse train`)",
            )
            env["FINPULSE_MODEL__PATH"] = "baseline"

    def _cmd(self, *args: str) -> list[str]:
        return [self.python, "-m", "cli.main", *args]

    def _on_line(self, name: str, line: str) -> None:
        if name == "worker" and "worker ready" in line:
            self.worker_ready.set()

    def _spawn(self, name: str, args: Sequence[str], env: dict[str, str]) -> Child:
        child = Child(name, self._cmd(*args), env, on_line=self._on_line).start()
        self.children[name] = child
        return child

    def _start_broker(self) -> str:
        from foundation.kafka.broker import (
            EmbeddedBroker,
            address_file,
            check_reachable,
        )
        from foundation.kafka.topics import settings_topics

        if self.settings.broker.url:
            bootstrap = self.settings.broker.url.removeprefix("kafka://")
            check_reachable(bootstrap)
            say("broker", f"using the configured Kafka broker at {bootstrap}")
            return bootstrap
        data = Path(self.settings.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        self.broker = EmbeddedBroker(
            topics=settings_topics(self.settings), log_path=broker_log(data)
        ).start()
        address_file(self.settings).write_text(self.broker.bootstrap + "\n")
        say(
            "broker",
            f"embedded broker (Tansu, in memory) ready at {self.broker.bootstrap} "
            f"(its log: {broker_log(data)})",
        )
        return str(self.broker.bootstrap)

    def _ingest_plan(self) -> list[list[str]]:
        """The ingest commands to run in turn: live feeds, or the sample replay phases."""
        use_replay = self.force_replay
        if use_replay is None:
            urls: list[str] = []
            try:
                from ingest.sources.registry import configured_sources

                urls = [s.url for s in configured_sources(self.settings)]
            except Exception as exc:  # a broken source list must not stop the demo
                say("demo", f"cannot read the source list ({exc}); using the sample")
            online = bool(urls) and network_reachable(urls)
            use_replay = not online
            say(
                "demo",
                "network reachable: polling live feeds"
                if online
                else "no network (or no feeds): replaying the bundled sample",
            )
        if not use_replay:
            return [["ingest"]]
        if not SAMPLE.is_file():
            raise ConfigError(f"the bundled sample is missing: {SAMPLE}")
        now = datetime.now(UTC).replace(microsecond=0)
        shift = (now - SAMPLE_ANCHOR).total_seconds()
        iso = now.isoformat().replace("+00:00", "Z")
        common = ["replay", str(SAMPLE), "--shift", f"{shift:.0f}", "--no-progress"]
        return [
            [
                *common,
                "--to",
                iso,
                "--speed",
                f"{HISTORY_SPEED:g}",
                "--max-rate",
                f"{HISTORY_MAX_RATE:g}",
            ],
            [*common, "--from", iso, "--speed", "1"],
        ]

    def _wait_dashboard(self, url: str, timeout: float = 60.0) -> bool:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping.is_set():
            child = self.children.get("dashboard")
            if child is None or child.poll() is not None:
                return False
            try:
                if httpx.get(url + "/healthz", timeout=2.0).status_code < 500:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        return False

    # -- main loop -------------------------------------------------------------------------
    def run(self) -> int:
        from foundation.kafka.broker import port_in_use

        def _stop(signum: int, _frame: Any) -> None:
            if not self.stopping.is_set():
                say("demo", f"{signal.Signals(signum).name} received: stopping every process")
            self.stopping.set()

        old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
        # The supervisor prints its own [broker] lines; keep the manager's INFO logs quiet.
        logging.getLogger("foundation.kafka.broker").setLevel(logging.WARNING)
        host = self.settings.dashboard.host
        url = f"http://{host}:{self.dashboard_port}"
        code = 0
        try:
            if port_in_use(self.dashboard_port, host):
                raise ConfigError(
                    f"dashboard port {self.dashboard_port} is in use: stop what holds it or "
                    "run `finpulse demo --port N`"
                )
            bootstrap = self._start_broker()
            env = self._env(bootstrap)
            self._check_model(env)
            self._spawn("worker", ["worker"], env)
            self._spawn("dashboard", ["dashboard", "--port", str(self.dashboard_port)], env)
            self._replay_phases = self._ingest_plan()
            code = self._loop(env, url)
        except (BrokerError, ConfigError) as exc:
            say("demo", f"error: {exc}", sys.stderr)
            code = 2
        finally:
            self.shutdown()
            for s, h in old.items():
                signal.signal(s, h)
        return code

    def _loop(self, env: dict[str, str], url: str) -> int:
        started = time.monotonic()
        announced = False
        ingest_started = False
        ready_deadline = started + 180.0
        while not self.stopping.is_set():
            if self.broker is not None and not self.broker.running:
                say("demo", "the embedded broker exited: stopping")
                return 1
            worker = self.children["worker"]
            if worker.poll() is not None:
                say("demo", f"the worker exited with code {worker.poll()}: stopping")
                return 1
            dash = self.children.get("dashboard")
            if dash is not None and dash.poll() is not None:
                say("demo", f"the dashboard exited with code {dash.poll()}: stopping")
                return 1
            if not announced and self._wait_dashboard(url, timeout=0.5):
                announced = True
                say("demo", f"dashboard: {url}  (Ctrl-C stops everything)")
            if not ingest_started and (
                self.worker_ready.is_set() or time.monotonic() > ready_deadline
            ):
                if not self.worker_ready.is_set():
                    say("demo", "the worker is slow to become ready; starting ingest anyway")
                ingest_started = True
                self._next_ingest(env)
            ingest = self.children.get("ingest")
            if ingest is not None and ingest.poll() is not None:
                rc = ingest.poll()
                del self.children["ingest"]
                if rc != 0:
                    say("demo", f"ingest exited with code {rc}: stopping")
                    return 1
                if self._replay_phases:
                    self._next_ingest(env)
                else:
                    say("demo", "the sample replay is complete; the dashboard stays up (Ctrl-C)")
            self.stopping.wait(0.5)
        return 0

    def _next_ingest(self, env: dict[str, str]) -> None:
        args = self._replay_phases.pop(0)
        if args[0] == "replay" and "--from" in args:
            say("demo", "history replayed; the sample's last minutes now arrive in real time")
        self._spawn("ingest", args, env)

    def shutdown(self) -> None:
        # Producers first, then the consumer (so it commits), then the reader, then the broker.
        for name in ("ingest", "worker", "dashboard"):
            child = self.children.pop(name, None)
            if child is not None:
                child.stop()
        for child in self.children.values():
            child.stop()
        self.children.clear()
        if self.broker is not None:
            from foundation.kafka.broker import address_file

            self.broker.stop()
            self.broker = None
            with contextlib.suppress(OSError):
                address_file(self.settings).unlink()
            say("broker", "stopped")
        say("demo", "all processes stopped")
