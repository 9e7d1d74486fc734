"""`finpulse backtest --events`: alerts scored against a labelled-events CSV, on a small
hand-made archive (lexicon baseline, no cache)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from cli.main import main
from foundation.errors import ConfigError
from monitor.core.events_scoring import covers, load_events, score

T0 = datetime(2023, 3, 8, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def write_archive(path):
    """Two days of calm news, then Evergrande (a listed entity never seen before) collapses."""
    lines = []
    for i in range(2 * 24 * 12):
        at = T0 + timedelta(minutes=5 * i)
        lines.append(
            {
                "id": f"c{i}",
                "source": f"Wire{i % 3}",
                "title": f"Markets steady as traders wait {i}",
                "published": iso(at),
            }
        )
    crash = T0 + timedelta(days=2, hours=9)
    for i in range(12):
        lines.append(
            {
                "id": f"e{i}",
                "source": f"Wire{i % 3}",
                "title": f"Evergrande collapse: default crisis, losses and panic {i}",
                "published": iso(crash + timedelta(minutes=4 * i)),
            }
        )
    for i in range(24 * 12):
        at = crash + timedelta(hours=1, minutes=5 * i)
        lines.append(
            {
                "id": f"d{i}",
                "source": "Wire0",
                "title": f"Markets steady as traders wait again {i}",
                "published": iso(at),
            }
        )
    with gzip.open(path, "wt") as fh:
        fh.write(
            "\n".join(
                json.dumps({**x, "summary": "", "link": f"https://n/{x['id']}", "language": "en"})
                for x in lines
            )
            + "\n"
        )
    return crash


def write_events(path, crash):
    path.write_text(
        "event,pattern,window_start,window_end,first_coverage,description\n"
        f"evergrande,Evergrande,{iso(crash - timedelta(hours=1))},"
        f"{iso(crash + timedelta(days=1))},{iso(crash)},Evergrande defaults\n"
        f"other,Nothing Like This,{iso(T0)},{iso(T0 + timedelta(days=4))},{iso(T0)},not in it\n"
    )


def test_events_scoring_on_a_hand_made_archive(tmp_path):
    archive, events = tmp_path / "a.jsonl.gz", tmp_path / "events.csv"
    crash = write_archive(archive)
    write_events(events, crash)
    args = ["backtest", str(archive), "--model", "baseline", "--no-cache", "--events", str(events)]
    r = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    ev = data["events"]
    assert ev["events"] == 2 and ev["covered"] == 1
    hit = next(e for e in ev["per_event"] if e["event"] == "evergrande")
    assert hit["covered"] and hit["first_alert"]["scope"].startswith(
        ("entity:Evergrande", "topic:", "all:")
    )
    assert 0 <= hit["lag_h"] < 2 and hit["lag_start_h"] <= hit["lag_h"]
    assert not next(e for e in ev["per_event"] if e["event"] == "other")["covered"]
    assert ev["alerts"] == data["alert_count"] and ev["incidents"] == data["incident_count"]
    listed = {a["fingerprint"] + a["startsAt"] for a in ev["unmatched_alerts"]}
    assert len(listed) == ev["alerts"] - hit["covering_alerts"]
    assert data["incidents"] and all(i["alerts"] and i["scopes"] for i in data["incidents"])
    # The text form names the events and the figures.
    text = CliRunner().invoke(main, args, catch_exceptions=False).stdout
    assert "events covered: 1/2" in text and "MISSED   other" in text


def test_bad_events_files_are_refused_with_the_problem_named(tmp_path):
    bad = tmp_path / "e.csv"
    bad.write_text("event,pattern\nx,y\n")
    with pytest.raises(ConfigError, match="missing columns"):
        load_events(bad)
    bad.write_text(
        "event,pattern,window_start,window_end,first_coverage\n"
        "x,(,2022-11-01T00:00:00Z,2022-11-02T00:00:00Z,2022-11-01T00:00:00Z\n"
    )
    with pytest.raises(ConfigError, match=r"e.csv:2: bad pattern"):
        load_events(bad)
    bad.write_text(
        "event,pattern,window_start,window_end,first_coverage\n"
        "x,y,2022-11-01,yesterday,2022-11-01T00:00:00Z\n"
    )
    with pytest.raises(ConfigError, match="window_end"):
        load_events(bad)


def test_the_scoring_rule():
    (ev,) = [e for e in _events() if e.event == "ftx"]
    alert = {
        "fingerprint": "f",
        "rule": "attention",
        "scope_kind": "entity",
        "scope": "X",
        "startsAt": "2022-11-08T16:10:00Z",
        "firstNotifiedAt": "2022-11-08T16:20:00Z",
        "summary": "",
        "evidence": [{"title": "Binance to acquire FTX"}],
    }
    assert covers(alert, ev)  # evidence headline matches
    assert not covers({**alert, "startsAt": "2022-11-10T00:00:00Z"}, ev)  # window is [start, end)
    assert not covers({**alert, "evidence": []}, ev)
    out = score([alert], [ev], [], period_days=30)
    assert out["covered"] == 1 and out["median_lag_h"] == 2.73 and out["unmatched_alerts"] == []


def _events():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "e.csv"
        p.write_text(
            "event,pattern,window_start,window_end,first_coverage\n"
            "ftx,\\bFTX\\b,2022-11-08T00:00:00Z,2022-11-10T00:00:00Z,"
            "2022-11-08T13:36:30Z\n"
        )
        return load_events(p)
