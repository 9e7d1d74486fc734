"""Integration fixtures: a real embedded broker and real ``finpulse`` subprocesses.

- ``broker``: one started EmbeddedBroker (Tansu) for the session.
- ``pipeline_env``: a factory for the environment of one isolated pipeline (own topic
  prefix, so its own consumer group; own SQLite store under tmp_path; baseline classifier).
- ``start_worker``: starts ``finpulse worker`` with such an environment and waits until it
  consumes; stopped (process group) at the end of the test.
- ``run_finpulse``: runs one ``finpulse`` command to completion.
- ``consume_topic``: reads every record of a topic (assigned partitions, no group).

Tests use the lexicon baseline (FINPULSE_MODEL__PATH=baseline) to stay fast; the shipped
transformer is exercised by the models package's own tests.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from foundation.kafka.broker import EmbeddedBroker, free_port

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
PYTHON = sys.executable


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture
def pipeline_env(broker: EmbeddedBroker, tmp_path: Path) -> Callable[..., dict[str, str]]:
    """``pipeline_env(**extra)`` -> env for one isolated pipeline on the session broker."""

    def make(**extra: str) -> dict[str, str]:
        prefix = f"it{uuid.uuid4().hex[:10]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
        env.update(
            FINPULSE_BROKER__URL=broker.url,
            FINPULSE_BROKER__TOPIC_PREFIX=prefix,
            FINPULSE_BROKER__PARTITIONS="2",
            FINPULSE_DATA_DIR=str(tmp_path / "data"),
            FINPULSE_STORE__URL=f"sqlite:///{tmp_path / 'store.db'}",
            FINPULSE_MODEL__PATH="baseline",
            # Any free port: tests run several workers at once (the port is logged).
            FINPULSE_METRICS__WORKER_PORT="0",
            FINPULSE_METRICS__INGEST_PORT="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    return make


class Proc:
    """A ``finpulse`` subprocess in its own process group, output to a log file."""

    def __init__(
        self, args: list[str], env: dict[str, str], log_path: Path, cwd: Path = REPO
    ) -> None:
        self.log_path = log_path
        self._fh = log_path.open("wb")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "cli.main", *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float) -> float:
        """Seconds until ``text`` appears in the output; fails with the output otherwise."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if text in self.output:
                return time.monotonic() - start
            if self.proc.poll() is not None:
                pytest.fail(f"process exited ({self.proc.returncode}):\n{self.output[-3000:]}")
            time.sleep(0.2)
        pytest.fail(f"{text!r} not seen within {timeout} s:\n{self.output[-3000:]}")

    def stop(self, grace: float = 15.0) -> int | None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._fh.close()
        return self.proc.returncode


@pytest.fixture
def start_proc(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    procs: list[Proc] = []

    def start(
        args: list[str], env: dict[str, str], name: str | None = None, cwd: Path = REPO
    ) -> Proc:
        p = Proc(args, env, tmp_path / f"{name or args[0]}-{len(procs)}.log", cwd=cwd)
        procs.append(p)
        return p

    yield start
    for p in reversed(procs):
        p.stop()


@pytest.fixture
def start_worker(start_proc: Callable[..., Proc]) -> Callable[..., Proc]:
    """``start_worker(env, timeout=120)`` -> a worker that has its partitions (consuming)."""

    def start(env: dict[str, str], timeout: float = 120.0, cwd: Path = REPO) -> Proc:
        w = start_proc(["worker"], env, name="worker", cwd=cwd)
        w.ready_s = w.wait_for_line("worker ready", timeout)  # type: ignore[attr-defined]
        return w

    return start


def run_finpulse(
    args: list[str], env: dict[str, str], timeout: float = 180.0, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def finpulse() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_finpulse


def consume_topic(
    bootstrap: str, topic: str, expected: int | None = None, idle_s: float = 5.0
) -> collections.Counter[bytes]:
    """Count the records per key on every partition of ``topic``, from the beginning.

    Stops when ``expected`` records were read, or after ``idle_s`` without a new record. Uses
    assigned partitions (no consumer group) so nothing is committed.
    """
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=5000,
    )
    try:
        parts = c.partitions_for_topic(topic) or set()
        c.assign([TopicPartition(topic, p) for p in sorted(parts)])
        c.seek_to_beginning()
        counts: collections.Counter[bytes] = collections.Counter()
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            got = c.poll(timeout_ms=500)
            for records in got.values():
                for r in records:
                    counts[r.key] += 1
                last = time.monotonic()
            if expected is not None and sum(counts.values()) >= expected:
                # Read a little longer: a duplicate would arrive after the expected count.
                idle_s = min(idle_s, 1.5)
        return counts
    finally:
        c.close()


def wait_until(pred: Callable[[], Any], timeout: float, step: float = 0.5) -> Any:
    end = time.monotonic() + timeout
    value = pred()
    while not value and time.monotonic() < end:
        time.sleep(step)
        value = pred()
    return value


@pytest.fixture
def topic_counter() -> Callable[..., collections.Counter[bytes]]:
    """``topic_counter(bootstrap, topic, expected=None)`` -> Counter of record keys."""
    return consume_topic


@pytest.fixture
def wait() -> Callable[..., Any]:
    """``wait(pred, timeout)``: polls ``pred`` until truthy or the timeout; returns its value."""
    return wait_until


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the repository; skips the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} is absent")
    return SHARED


@pytest.fixture
def unused_port() -> int:
    return free_port()
