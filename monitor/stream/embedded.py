"""Faust on the embedded broker: a consumer that does not sit out Tansu's fetch wait.

Faust's aiokafka consumer asks for ``fetch_max_wait_ms=1500`` (hard-coded). Real Kafka answers
a fetch as soon as data arrives; Tansu 0.6 holds it for the whole wait even when records come
in meanwhile (measured: a record produced every 100 ms reached a consumer after 422 ms at the
median with a 1,500 ms wait, 10 ms with a 50 ms wait). Every consumer hop of the worker paid
that. On the embedded broker the worker's consumer waits at most
:data:`EMBEDDED_FETCH_WAIT_MS` instead; real Kafka keeps Faust's setting.

This reaches into two private attributes (Faust 0.15's ``App._new_transport``, aiokafka's
``AIOKafkaConsumer._fetch_max_wait_ms``), checked by tests/unit/test_runtime_app.py.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver

EMBEDDED_FETCH_WAIT_MS = 50


class _ConsumerThread(driver.AIOKafkaConsumerThread):  # type: ignore[misc]
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = EMBEDDED_FETCH_WAIT_MS
        return consumer


class _Consumer(driver.Consumer):  # type: ignore[misc]
    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class EmbeddedTransport(driver.Transport):  # type: ignore[misc]
    Consumer = _Consumer


class EmbeddedApp(faust.App):  # type: ignore[misc]
    """A faust.App whose consumer uses :data:`EMBEDDED_FETCH_WAIT_MS`."""

    def _new_transport(self) -> Any:
        return EmbeddedTransport(self.conf.broker_consumer, self)
