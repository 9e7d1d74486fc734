"""Score alerts against a labelled-events CSV (pure; ``finpulse backtest --events FILE``).

The file (``../shared/data/events/*.csv`` format): columns ``event``, ``pattern`` (a
case-insensitive regular expression for the event's names), ``window_start``, ``window_end``
(ISO-8601 UTC), ``first_coverage`` (the first item about it, or the day it broke) and
``description``. An alert **covers** an event when it starts inside
``[window_start, window_end)`` and the pattern matches the alert's scope, its summary or one of
its evidence headlines. Reported: events covered, the lag of the first covering alert after
``first_coverage`` (by when it was notified, ``firstNotifiedAt``: what a risk team sees; the
lag by ``startsAt`` too), alerts and incidents in the period and per 30 days, and the alerts
and incidents that cover no labelled event, listed so a quant can read them.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.errors import ConfigError

COLUMNS = ("event", "pattern", "window_start", "window_end", "first_coverage")


@dataclass(frozen=True, slots=True)
class LabelledEvent:
    event: str
    pattern: re.Pattern[str]
    window_start: datetime
    window_end: datetime
    first_coverage: datetime
    description: str = ""


def _time(value: str, where: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{where}: not an ISO-8601 time: {value!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def load_events(path: str | Path) -> list[LabelledEvent]:
    """Read and check an events CSV; a bad row is a ConfigError naming file, line, column."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigError(f"{path}: missing columns {missing} (need {list(COLUMNS)})")
            out = []
            for line, row in enumerate(reader, start=2):
                where = f"{path}:{line}"
                try:
                    pattern = re.compile(row["pattern"], re.IGNORECASE)
                except re.error as exc:
                    raise ConfigError(f"{where}: bad pattern: {exc}") from None
                ev = LabelledEvent(
                    event=row["event"].strip(),
                    pattern=pattern,
                    window_start=_time(row["window_start"], f"{where} window_start"),
                    window_end=_time(row["window_end"], f"{where} window_end"),
                    first_coverage=_time(row["first_coverage"], f"{where} first_coverage"),
                    description=(row.get("description") or "").strip(),
                )
                if not ev.event:
                    raise ConfigError(f"{where}: empty event name")
                if ev.window_end <= ev.window_start:
                    raise ConfigError(f"{where}: window_end is not after window_start")
                out.append(ev)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read events file {path}: {exc}") from None
    return out


def covers(alert: dict[str, Any], ev: LabelledEvent) -> bool:
    """The scoring rule, on one backtest alert entry (``alerts`` of the backtest JSON)."""
    start = _time(alert["startsAt"], "alert startsAt")
    if not ev.window_start <= start < ev.window_end:
        return False
    texts = [f"{alert['scope_kind']}:{alert['scope']}", alert.get("summary", "")]
    texts += [e.get("title", "") for e in alert.get("evidence", [])]
    return any(ev.pattern.search(t) for t in texts)


def _hours(a: str, b: datetime) -> float:
    return round((_time(a, "alert time") - b).total_seconds() / 3600, 2)


def _brief(a: dict[str, Any]) -> dict[str, Any]:
    ev = a.get("evidence") or []
    return {
        "fingerprint": a["fingerprint"],
        "rule": a["rule"],
        "scope": f"{a['scope_kind']}:{a['scope']}",
        "startsAt": a["startsAt"],
        "summary": a.get("summary", ""),
        "headline": ev[0]["title"] if ev else "",
    }


def score(
    alerts: Sequence[dict[str, Any]],
    events: Sequence[LabelledEvent],
    incidents: Sequence[dict[str, Any]] = (),
    period_days: float | None = None,
) -> dict[str, Any]:
    """The ``events`` section of the backtest JSON."""
    per_event: list[dict[str, Any]] = []
    covering: set[str] = set()
    for ev in events:
        hits = sorted(
            (a for a in alerts if covers(a, ev)),
            key=lambda a: (a["firstNotifiedAt"], a["fingerprint"]),
        )
        covering.update(a["fingerprint"] + a["startsAt"] for a in hits)
        first = hits[0] if hits else None
        per_event.append(
            {
                "event": ev.event,
                "description": ev.description,
                "covered": first is not None,
                "first_alert": _brief(first) if first else None,
                "lag_h": _hours(first["firstNotifiedAt"], ev.first_coverage) if first else None,
                "lag_start_h": _hours(first["startsAt"], ev.first_coverage) if first else None,
                "covering_alerts": len(hits),
            }
        )
    unmatched = [_brief(a) for a in alerts if a["fingerprint"] + a["startsAt"] not in covering]
    inc_unmatched = [
        {
            "id": inc["id"],
            "startsAt": inc["startsAt"],
            "scopes": inc["scopes"],
            "headline": inc["evidence"][0]["title"] if inc.get("evidence") else "",
        }
        for inc in incidents
        if not any(e["fingerprint"] + e["startsAt"] in covering for e in inc["episodes"])
    ]
    lags: list[float] = [e["lag_h"] for e in per_event if e["lag_h"] is not None]
    scale = 30.0 / period_days if period_days else None
    return {
        "events": len(events),
        "covered": sum(1 for e in per_event if e["covered"]),
        "median_lag_h": round(statistics.median(lags), 2) if lags else None,
        "alerts": len(alerts),
        "incidents": len(incidents),
        "alerts_per_30_days": round(len(alerts) * scale, 1) if scale else None,
        "incidents_per_30_days": round(len(incidents) * scale, 1) if scale else None,
        "per_event": per_event,
        "unmatched_alerts": unmatched,
        "unmatched_incidents": inc_unmatched,
    }


def format_events(ev: dict[str, Any]) -> list[str]:
    """The ``events`` section as text lines (``finpulse backtest --events`` without --json)."""
    lines = [
        f"events covered: {ev['covered']}/{ev['events']}, median lag {ev['median_lag_h']} h "
        f"(notified after first coverage); {ev['alerts']} alerts, {ev['incidents']} incidents "
        f"({ev['alerts_per_30_days']} and {ev['incidents_per_30_days']} per 30 days)"
    ]
    for e in ev["per_event"]:
        first = e["first_alert"]
        where = f"{first['scope']} at {first['startsAt']}, lag {e['lag_h']} h" if first else "-"
        lines.append(f"  {'covered' if e['covered'] else 'MISSED '}  {e['event']}: {where}")
    lines.append(f"alerts covering no labelled event: {len(ev['unmatched_alerts'])}")
    lines += [
        f"  {a['startsAt']}  {a['scope']}  {a['rule']}  {a['headline']}"
        for a in ev["unmatched_alerts"]
    ]
    return lines
