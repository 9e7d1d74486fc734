"""Demo supervisor decisions: the network probe and the offline replay plan."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from foundation.settings import load_settings
from monitor.runtime.supervisor import SAMPLE, SAMPLE_ANCHOR, Supervisor, network_reachable


def test_network_probe_true_for_a_listening_host_false_otherwise() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert network_reachable([f"http://127.0.0.1:{port}/feed.xml"], timeout=1.0)
    assert not network_reachable([f"http://127.0.0.1:{port}/feed.xml"], timeout=1.0)
    assert not network_reachable(["file:///tmp/x.jsonl", "not a url"])


def test_offline_plan_replays_history_fast_then_the_tail_in_real_time(tmp_path) -> None:
    sup = Supervisor(load_settings(data_dir=str(tmp_path)), force_replay=True)
    before = datetime.now(UTC).replace(microsecond=0)
    history, tail = sup._ingest_plan()
    assert SAMPLE.is_file()
    for phase in (history, tail):
        assert phase[:2] == ["replay", str(SAMPLE)]
        shift = float(phase[phase.index("--shift") + 1])
        assert abs(SAMPLE_ANCHOR + timedelta(seconds=shift) - before) < timedelta(seconds=5)
    now = history[history.index("--to") + 1]
    assert tail[tail.index("--from") + 1] == now  # the two phases meet at "now"
    assert "--max-rate" in history and float(history[history.index("--speed") + 1]) > 100
    assert tail[tail.index("--speed") + 1] == "1"
