"""Detection and the alert lifecycle over explicit timelines (pure pipeline, no broker)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as hst
from monitor_helpers import T0, scored

from foundation.settings import AlertSettings, RuleSettings, Settings, WindowSettings
from monitor.core.detection import Baseline, DetectorState, assess, step, wilson_lower
from monitor.core.lifecycle import fingerprint, group_alerts
from monitor.core.pipeline import AlertPipeline

SIZE = 300


def make_settings(**rule) -> Settings:
    rule.setdefault("span_windows", 1)
    r = RuleSettings(scopes=["topic", "all"], **rule)
    return Settings(
        windows=WindowSettings(size_s=SIZE, allowed_lateness_s=0),
        alerts=AlertSettings(rules=[r], repeat_interval_s=3600, dashboard_url="http://dash"),
    )


def feed(p: AlertPipeline, windows, start_window=0, topic="banking", out=None):
    """Feed (count, negatives) per window, then a document in the next window so that the
    last fed window closes; returns the alerts raised, in order."""
    alerts = []
    w = start_window
    for w, (n, k) in enumerate(windows, start=start_window):
        for i in range(n):
            sentiment = "negative" if i < k else "neutral"
            t = w * SIZE + (i * SIZE) // max(n, 1)
            p.add(scored(f"{topic}-{w}-{i}", t, sentiment, topic=topic))
            o = p.advance()
            alerts += o.alerts
            if out is not None:
                out.extend(o)
    p.add(scored(f"tick-{w + 1}", (w + 1) * SIZE, "neutral", topic="other"))
    o = p.advance()
    if out is not None:
        out.extend(o)
    return alerts + o.alerts


def quiet_tick(p: AlertPipeline, window: int):
    """A document in another topic, to move the watermark to ``window``."""
    p.add(scored(f"tick-{window}", window * SIZE, "neutral", topic="other"))
    return p.advance().alerts


def topic_alerts(alerts, topic="banking"):
    return [a for a in alerts if a.scope_kind == "topic" and a.scope == topic]


BASE = [(20, 3)] * 24  # two hours of 15 % negative


def test_wilson_lower_bound_respects_volume():
    assert wilson_lower(3, 4, 3.0) < 0.25  # 3 of 4 proves little
    assert wilson_lower(30, 40, 3.0) > 0.5  # 30 of 40 is strong evidence
    assert wilson_lower(0, 0, 3.0) == 0.0


def test_low_volume_noise_raises_nothing():
    p = AlertPipeline(make_settings())
    # 3 of 4 negative, again and again: under min_count, and the Wilson bound is low.
    alerts = feed(p, [(4, 1)] * 24 + [(4, 3)] * 12 + [(4, 1)] * 4)
    assert alerts == []


def test_sustained_surge_fires_once_then_repeats_only_after_the_interval():
    p = AlertPipeline(make_settings())
    surge = [(30, 20)] * 13  # 65 minutes of 67 % negative at higher volume
    alerts = topic_alerts(feed(p, BASE + surge))
    firing = [a for a in alerts if a.status == "firing"]
    assert len(firing) == 1  # repeat interval (1 h) not reached within the first 55 minutes
    a = firing[0]
    assert a.fingerprint == fingerprint("negative_surge", "topic", "banking")
    # Persistence 2 of 3: fires at the end of the second surge window; starts at the first.
    assert a.starts_at == T0 + timedelta(seconds=24 * SIZE)
    assert a.updated_at == T0 + timedelta(seconds=26 * SIZE)
    assert a.figures["negative_share"] == pytest.approx(20 / 30, abs=1e-6)
    assert a.figures["baseline_share"] < 0.2
    assert a.figures["wilson_lower"] > a.figures["baseline_share"]
    assert len(a.evidence) == 5 and a.evidence[0].link.startswith("https://news.example/")
    assert a.dashboard_url.startswith("http://dash/topic/banking?from=")
    # Window 26 .. 37 hot: the 12th window after the first firing is 1 h later.
    more = topic_alerts(feed(p, [(30, 20)] * 2, start_window=24 + 13))
    assert [x.status for x in more] == ["firing"]
    assert more[0].updated_at - a.updated_at >= timedelta(hours=1)
    assert more[0].starts_at == a.starts_at and more[0].fingerprint == a.fingerprint


def test_resolution_needs_quiet_windows_in_a_row_hysteresis():
    p = AlertPipeline(make_settings())
    alerts = topic_alerts(feed(p, BASE + [(30, 20)] * 3))
    assert [a.status for a in alerts] == ["firing"]
    # Quiet, then one warm window (share well above baseline), then quiet again.
    after = topic_alerts(feed(p, [(20, 3), (20, 3), (30, 10), (20, 3), (20, 3)], 27))
    assert after == []  # the warm window reset the quiet streak
    end = topic_alerts(feed(p, [(20, 3)], 32))
    assert [a.status for a in end] == ["resolved"]
    assert end[0].ends_at == T0 + timedelta(seconds=30 * SIZE)  # end of the last warm window
    # A new surge later is a new episode with a new start.
    again = topic_alerts(feed(p, [(20, 3)] * 10 + [(30, 20)] * 2, 33))
    assert [a.status for a in again] == ["firing"]
    assert again[0].starts_at > end[0].ends_at


def test_empty_windows_are_evaluated_and_a_silent_scope_resolves():
    p = AlertPipeline(make_settings())
    assert [a.status for a in topic_alerts(feed(p, BASE + [(30, 20)] * 2))] == ["firing"]
    # banking goes silent; other documents move event time on.
    alerts = []
    for w in range(27, 31):
        alerts += topic_alerts(quiet_tick(p, w))
    assert [a.status for a in alerts] == ["resolved"]
    st = p.scope_state("topic:banking")
    assert st is not None
    det = st.detectors["negative_surge"]
    assert det.baseline.windows == 24 + 2 + 4  # empty windows folded into the baseline


def test_restart_from_dumped_state_does_not_fire_again():
    s = make_settings()
    p = AlertPipeline(s)
    assert len(topic_alerts(feed(p, BASE + [(30, 20)] * 2))) == 1
    dumps = p.take_changes()
    meta = p.dump_meta()
    q = AlertPipeline(s)
    q.load(meta, {k: v for k, v in dumps.items() if v is not None})
    assert topic_alerts(feed(q, [(30, 20)] * 4, start_window=26)) == []


def test_restart_with_lost_state_is_rearmed_from_stored_alerts():
    from monitor.core.pipeline import PipelineOutput

    s = make_settings()
    p = AlertPipeline(s)
    out = PipelineOutput()
    stored = topic_alerts(feed(p, BASE + [(30, 20)] * 2, out=out))
    assert len(stored) == 1
    # Lost every table (embedded broker restarted); the store kept windows and alerts.
    q = AlertPipeline(s)
    assert q.rebuild(out.closed, stored) == 0  # the replayed windows re-create the state
    assert topic_alerts(feed(q, [(30, 20)] * 4, start_window=26)) == []
    r = AlertPipeline(s)  # no windows stored at all: the alert rows alone re-arm it
    assert r.restore_alerts(stored) == 1
    assert r.scopes["topic:banking"].alerts["negative_surge"].status == "firing"
    # Without a baseline it can neither fire again nor resolve while the surge goes on.
    assert topic_alerts(feed(r, [(30, 20)] * 6, start_window=26)) == []


def test_volume_rule_fires_on_a_count_spike_not_on_share():
    r = RuleSettings(name="volume_spike", kind="volume", scopes=["topic"], volume_z=4.0)
    base = Baseline()
    for n in [20, 22, 18, 21, 19, 20, 23, 17, 20, 21, 19, 20]:
        base.update(n, 2, 0.1)
    assert not assess(r, base, 24, 20).hot  # share jumps, volume normal
    assert assess(r, base, 60, 2).hot


def test_persistence_requires_k_of_n_windows():
    r = RuleSettings(
        persistence_k=2, persistence_n=3, min_baseline_windows=0, min_count=5, span_windows=1
    )
    st = DetectorState()
    for _ in range(20):
        step(r, st, 20, 2)
    assert not step(r, st, 40, 30).persistent  # one hot window
    assert not step(r, st, 20, 2).hot
    assert step(r, st, 40, 30).persistent  # two of the last three


def test_alerts_of_one_evaluation_are_grouped():
    s = make_settings()
    p = AlertPipeline(s)
    alerts = []
    for w, (n, k) in enumerate(BASE + [(30, 20)] * 2):
        for topic in ("banking", "crypto"):
            for i in range(n):
                sent = "negative" if i < k else "neutral"
                p.add(scored(f"{topic}{w}-{i}", w * SIZE + i, sent, topic=topic))
        alerts += p.advance().alerts
    alerts += quiet_tick(p, 26)
    groups = group_alerts(alerts)
    firing = [g for g in groups if g.status == "firing"]
    assert len(firing) == 1
    assert [(a.scope_kind, a.scope) for a in firing[0].alerts] == [
        ("all", "all"),
        ("topic", "banking"),
        ("topic", "crypto"),
    ]


def test_a_span_of_windows_gathers_enough_documents_in_a_quiet_scope():
    # 2 documents per window: one window never reaches min_count, a 6-window span does.
    r = RuleSettings(span_windows=6, min_count=8, min_baseline_windows=12, require_volume=False)
    st = DetectorState()
    for i in range(48):
        step(r, st, 2, 1 if i % 8 == 0 else 0)
    decisions = [step(r, st, 2, 2) for _ in range(6)]
    assert not decisions[0].hot  # 2 of 2: too few documents
    assert decisions[-1].hot and decisions[-1].figures["count"] == 12.0
    assert decisions[-1].persistent


def test_state_dumps_forget_closed_windows():
    p = AlertPipeline(make_settings())
    p.add(scored("a", 10, "neutral", source="Rare"))
    p.advance()
    assert p.take_changes()["source:Rare"]["w"]  # open window kept in the table
    p.add(scored("b", 10 * SIZE, "neutral", source="Other"))
    p.advance()
    assert p.take_changes()["source:Rare"] is None  # closed: the table key is deleted


# -- running span sums ---------------------------------------------------------------------
SUM_RULES = [
    RuleSettings(name="share", kind="negative_share", span_windows=3, min_count=2),
    RuleSettings(name="volume", kind="volume", span_windows=4, min_count=2),
    RuleSettings(name="count", kind="negative_count", span_windows=3, min_negative=1, surprise=2.0),
    RuleSettings(name="attention", kind="attention", span_windows=2, min_negative=1),
]


def _resummed(span, s: int, kind: str) -> list[int]:
    if kind in ("negative_share", "volume"):
        return [s, sum(c for c, _ in span), sum(x for _, x in span)]
    cur, before = span[-s:], span[:-s]
    return [
        s,
        *(sum(v[i] for v in cur) for i in (0, 1)),
        *(sum(v[i] for v in before) for i in (0, 1)),
    ]


@hsettings(max_examples=150, deadline=None)
@given(
    rule_index=hst.integers(0, len(SUM_RULES) - 1),
    windows=hst.lists(
        hst.tuples(hst.integers(0, 30), hst.integers(0, 30), hst.booleans()), max_size=40
    ),
)
def test_running_span_sums_equal_the_resummed_spans(rule_index, windows):
    """``step`` keeps the span sums running; a twin detector that re-sums at every step
    (its sums dropped, as after a restore) takes the same decisions and state, and the
    running sums always equal the sums of the span. Restarts from dumps in between."""
    rule = SUM_RULES[rule_index]
    running, resummed = DetectorState(), DetectorState()
    for count, neg, restart in windows:
        neg = min(neg, count)
        if restart:
            running = DetectorState.from_dict(running.to_dict())
        resummed.sums = None
        a = step(rule, running, count, neg)
        b = step(rule, resummed, count, neg)
        assert a == b
        assert running == resummed
        assert running.sums == _resummed(running.span, rule.span_windows, rule.kind)
