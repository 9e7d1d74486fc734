"""The runtime commands: ``finpulse broker``, ``finpulse worker`` and ``finpulse demo``."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from typing import Any

import click

from foundation.errors import BrokerError
from foundation.settings import get_settings

log = logging.getLogger(__name__)


@click.command()
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: a free one).")
@click.pass_context
def broker(ctx: click.Context, port: int | None) -> None:
    """Run the embedded Kafka-compatible broker (Tansu, in memory) in the foreground."""
    from foundation.kafka.broker import EmbeddedBroker, address_file
    from foundation.kafka.topics import settings_topics

    settings = get_settings(ctx)
    topics = settings_topics(settings)
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    addr = address_file(settings)
    with EmbeddedBroker(port=port, topics=topics) as b:
        addr.parent.mkdir(parents=True, exist_ok=True)
        addr.write_text(b.bootstrap + "\n")
        click.echo(f"embedded broker (Tansu, in-memory) ready at {b.bootstrap}")
        click.echo(f"  use it with: FINPULSE_BROKER__URL={b.url}")
        click.echo(f"  topics: {', '.join(f'{n} ({p})' for n, p in topics.items())}")
        click.echo("  Ctrl-C stops it (its topics are lost: storage is in memory)")
        try:
            while not stop.wait(0.5):
                if not b.running:
                    raise BrokerError("the embedded broker exited unexpectedly")
        finally:
            with contextlib.suppress(OSError):
                if addr.read_text().strip() == b.bootstrap:
                    addr.unlink()
    click.echo("broker stopped")


STOP_GRACE_S = 8.0


def run_worker(app: Any, loglevel: str, stop_grace_s: float = STOP_GRACE_S) -> None:
    """Run a Faust worker for ``app`` in this process until SIGINT/SIGTERM.

    Faust's shutdown can hang when an agent crashes while stopping or the broker went away
    first; a watchdog then ends the process ``stop_grace_s`` after the signal. Nothing is lost:
    uncommitted events are delivered again (at-least-once, idempotent store).
    """
    import os

    from faust.worker import Worker

    class _Worker(Worker):  # type: ignore[misc]
        _watchdog: threading.Timer | None = None

        def _arm(self) -> None:
            if self._watchdog is None:

                def _force() -> None:
                    log.error(
                        "worker did not stop within %.0f s of the signal: exiting", stop_grace_s
                    )
                    logging.shutdown()
                    os._exit(3)

                self._watchdog = threading.Timer(stop_grace_s, _force)
                self._watchdog.daemon = True
                self._watchdog.start()

        def _on_sigint(self) -> None:
            self._arm()
            super()._on_sigint()

        def _on_sigterm(self) -> None:
            self._arm()
            super()._on_sigterm()

    w = _Worker(
        app, loglevel=loglevel.lower(), override_logging=False, quiet=True, redirect_stdouts=False
    )
    w.spinner = None  # no terminal escapes in logs
    w.execute_from_commandline()


@click.command()
@click.option("--model", "model_path", default=None, help="Model folder or 'baseline'.")
@click.pass_context
def worker(ctx: click.Context, model_path: str | None) -> None:
    """Run the stream processor (classify + store); scale out by running more of them."""
    from foundation.kafka.broker import check_reachable, create_topics, resolve_bootstrap
    from foundation.kafka.topics import settings_topics
    from foundation.metrics import start_exporter
    from foundation.store import Store
    from monitor.stream.app import create_app

    settings = get_settings(ctx)
    if model_path:
        settings = settings.model_copy(
            update={"model": settings.model.model_copy(update={"path": model_path})}
        )
    # The store first: a schema older than the code is one error naming `finpulse db upgrade`.
    store = Store.from_settings(settings.store)
    bootstrap = resolve_bootstrap(settings)
    started = time.monotonic()
    check_reachable(bootstrap)
    try:
        create_topics(bootstrap, settings_topics(settings), settings.broker.replication_factor)
    except BrokerError as exc:
        # A managed cluster may forbid topic creation; the topics may exist already.
        log.warning("%s", exc)
    # Load the model before Faust starts: at worker start (never at import), with no event
    # loop running yet, so a missing or broken model is one clear error, not a crashed agent.
    from models.registry import load_classifier

    t_model = time.monotonic()
    classifier = load_classifier(settings.model)
    log.info("classifier %s loaded in %.1f s", classifier.name, time.monotonic() - t_model)
    app = create_app(settings, classifier=classifier, store=store)
    start_exporter(settings.metrics, "worker")
    log.info(
        "starting worker against %s (%.1f s since start)", bootstrap, time.monotonic() - started
    )
    run_worker(app, settings.log_level)


@click.command()
@click.option(
    "--replay/--live",
    "force_replay",
    default=None,
    help="Force the bundled-sample replay or live feeds (default: live when online).",
)
@click.option("--port", type=int, default=None, help="Dashboard port (default from settings).")
@click.pass_context
def demo(ctx: click.Context, force_replay: bool | None, port: int | None) -> None:
    """The whole stack on this machine: broker, worker, ingest and dashboard. Ctrl-C stops it."""
    from monitor.runtime.supervisor import Supervisor

    settings = get_settings(ctx)
    sup = Supervisor(settings, force_replay=force_replay, dashboard_port=port)
    raise SystemExit(sup.run())
