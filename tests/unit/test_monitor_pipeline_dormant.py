"""Dormant scopes are not evaluated at every window boundary, yet the pipeline's alerts and
detector states are exactly those of evaluating every scope at every boundary."""

from __future__ import annotations

import random

import pytest
from monitor_helpers import scored

from foundation.schemas import ScoredDocument
from foundation.settings import Settings, WindowSettings
from monitor.core.pipeline import AlertPipeline

SIZE = 300
DAYS = 3.5


def stream(seed: int) -> list[ScoredDocument]:
    """A few busy scopes, many sparse ones (tickers and entities seen now and then, some
    once, some back after days), and negative bursts on some of them after the count
    rules' one-day warm-up: alerts fire and resolve, scopes go dormant, wake and expire."""
    rnd = random.Random(seed)
    end = int(DAYS * 86400)
    docs: list[tuple[float, str, str, str, tuple[str, ...], tuple[str, ...]]] = []
    topics = ["financials", "markets", "energy"]
    for _ in range(int(DAYS * 288 * 3)):  # ~3 busy-scope documents per window
        t = rnd.uniform(0, end)
        sent = rnd.choices(["negative", "neutral", "positive"], [0.2, 0.6, 0.2])[0]
        docs.append((t, sent, rnd.choice(topics), rnd.choice("ABCD"), (), ()))
    for j in range(40):  # sparse names: a handful of documents at a few random times
        name = f"N{j}"
        for _ in range(rnd.randint(1, 3)):
            t0 = rnd.uniform(0, end)
            for _ in range(rnd.randint(1, 4)):
                t = min(end, t0 + rnd.uniform(0, 3600))
                ticker = (f"T{j}",) if j % 2 else ()
                docs.append((t, "neutral", rnd.choice(topics), "E", ticker, (name,)))
    for b in range(6):  # bursts after the warm-up
        t0 = rnd.uniform(1.2 * 86400, end - 7200)
        name, topic = f"Burst{b % 3}", topics[b % 3]
        for _ in range(rnd.randint(8, 40)):
            t = t0 + rnd.uniform(0, 2400)
            docs.append((t, "negative", topic, "F", (f"B{b % 3}",), (name,)))
    docs.sort()
    return [
        scored(f"d{i}", t, sent, topic=topic, source=src, tickers=tick, entities=ents)
        for i, (t, sent, topic, src, tick, ents) in enumerate(docs)
    ]


def run(
    docs: list[ScoredDocument],
    *,
    skip: bool,
    restart_at: int | None = None,
    resume_skipping: bool | None = None,
    as_older_version: bool = False,
):
    settings = Settings(windows=WindowSettings(size_s=SIZE, allowed_lateness_s=0))
    p = AlertPipeline(settings, skip_dormant=skip)
    alerts = []
    for i, d in enumerate(docs):
        if i == restart_at:  # the worker's way: every change dumped, loaded into a new one
            dumps = {k: v for k, v in p.take_changes().items() if v is not None}
            if as_older_version:  # dumps of before dormant scopes: no position, no pending
                dumps = {
                    k: {f: x for f, x in v.items() if f not in ("u", "p")} for k, v in dumps.items()
                }
            meta = p.dump_meta()
            p = AlertPipeline(
                settings, skip_dormant=skip if resume_skipping is None else resume_skipping
            )
            p.load(meta, dumps)
        p.add(d)
        if i % 7 == 0:
            alerts += p.advance().alerts
    alerts += p.advance().alerts
    alerts += p.finish().alerts
    return p, [a.model_dump() for a in alerts]


def states(p: AlertPipeline) -> dict[str, dict]:
    out = {}
    for key in sorted(p.scopes):
        st = p.scope_state(key)
        assert st is not None
        out[key] = {
            "d": {r: d.to_dict() for r, d in st.detectors.items()},
            "a": {r: a.to_dict() for r, a in st.alerts.items()},
            "last": st.last_active,
        }
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_skipping_dormant_scopes_changes_no_alert_and_no_baseline(seed):
    docs = stream(seed)
    eager, eager_alerts = run(docs, skip=False)
    lazy, lazy_alerts = run(docs, skip=True)
    assert {a["status"] for a in eager_alerts} == {"firing", "resolved"}  # the test has teeth
    assert lazy_alerts == eager_alerts
    assert states(lazy) == states(eager)
    assert lazy.incidents.to_dict() == eager.incidents.to_dict()
    # Most scopes were dormant at the end (that is the point); some expired on the way.
    assert len(lazy._live) < len(lazy.scopes) / 2
    assert lazy.dropped == eager.dropped and eager.dropped


def test_a_restart_keeps_the_dormant_scopes_lag():
    docs = stream(4)
    _, straight = run(docs, skip=True)
    eager, eager_alerts = run(docs, skip=False)
    restarted, alerts = run(docs, skip=True, restart_at=len(docs) // 2)
    assert alerts == straight == eager_alerts
    assert states(restarted) == states(eager)


def test_dumps_of_an_older_version_resume_as_caught_up():
    """A worker upgraded mid-stream loads state dumped by the eager loop (every scope up to
    date, no position recorded) and goes on exactly as the eager loop would have."""
    docs = stream(5)
    eager, eager_alerts = run(docs, skip=False)
    upgraded, alerts = run(
        docs, skip=False, restart_at=len(docs) // 2, resume_skipping=True, as_older_version=True
    )
    assert alerts == eager_alerts
    assert states(upgraded) == states(eager)


def test_a_trickle_scope_holds_a_bounded_number_of_pending_windows():
    """A name seen every two hours for a week never heats and never expires: its windows
    before the longest span are folded into the baselines as they age (they were all kept,
    and re-summed at each verdict), and the result is still the eager loop's."""
    docs = stream(6)
    week = 7 * 86400
    trickle = [
        scored(f"t{i}", float(t), "neutral", source="Trickle", tickers=("TRKL",))
        for i, t in enumerate(range(0, week, 7200))
    ]
    both = sorted([*docs, *trickle], key=lambda d: (d.document.published, d.id))
    eager, eager_alerts = run(both, skip=False)
    lazy, lazy_alerts = run(both, skip=True)
    st = lazy.scopes["ticker:TRKL"]
    assert "ticker:TRKL" not in lazy._live  # dormant all along
    span = max(r.span_windows for r in lazy.rules)
    # 84 windows with a document (it held all of them); more than a span of them folded
    assert len(trickle) > span + 1
    assert 0 < len(st.pending) <= span + 1
    assert st.upto is not None and st.upto > trickle[span // 2].document.published.timestamp()
    assert lazy_alerts == eager_alerts
    assert states(lazy) == states(eager)  # (this catches the dormant scopes up)
