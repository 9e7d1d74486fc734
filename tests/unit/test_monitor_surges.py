"""Count surges (negative_count, attention) over explicit timelines: the pure statistics and
the pipeline that runs them (the same code in the stream worker and the backtest)."""

from __future__ import annotations

import math

from monitor_helpers import scored

from foundation.settings import AlertSettings, RuleSettings, Settings, WindowSettings
from monitor.core.detection import DetectorState, step
from monitor.core.pipeline import AlertPipeline
from monitor.core.surges import RateState, assess_counts, tail_surprise

SIZE = 300
DAY = 288  # windows


def rule(kind: str, **kw) -> RuleSettings:
    kw.setdefault("span_windows", 12)
    kw.setdefault("baseline_halflife_windows", 288)
    return RuleSettings(
        name=kind, kind=kind, scopes=["entity", "ticker"], min_baseline_windows=0, **kw
    )


def test_tail_surprise_matches_poisson_and_grows_with_overdispersion_less():
    # P(Poisson(1) >= 4) = 1 - e^-1 (1 + 1 + 1/2 + 1/6)
    p = 1 - math.exp(-1) * (1 + 1 + 0.5 + 1 / 6)
    assert abs(tail_surprise(4, 1.0, 1.0) - (-math.log10(p))) < 1e-9
    assert tail_surprise(0, 1.0, 1.0) == 0.0
    assert tail_surprise(1, 2.0, 2.0) == 0.0  # at or below the mean: no surprise
    # A wider (overdispersed) distribution makes the same count less surprising.
    assert tail_surprise(10, 2.0, 8.0) < tail_surprise(10, 2.0, 2.0)


def test_a_new_scope_fires_on_its_first_burst():
    """An entity never seen before: 5 negative items in 20 minutes fire the negative-count
    rule from the prior alone (no history needed)."""
    r = rule("negative_count", surprise=5.0, min_negative=4)
    st = DetectorState()
    decisions = [step(r, st, 0, 0, DAY) for _ in range(3 * DAY)]  # three silent days
    assert not any(d.hot for d in decisions)
    burst = [(2, 2), (2, 2), (1, 1), (1, 1)]
    decisions = [step(r, st, n, k, DAY) for n, k in burst]
    assert decisions[-1].hot and decisions[-1].persistent
    f = decisions[-1].figures
    assert f["negative"] == 6 and f["negative_surprise"] >= 5 and f["expected_negative"] < 0.1


def test_first_burst_of_a_scope_seen_for_the_first_time_through_the_pipeline():
    settings = Settings(
        windows=WindowSettings(size_s=SIZE, allowed_lateness_s=0),
        alerts=AlertSettings(rules=[rule("negative_count", surprise=5.0)], evidence_docs=3),
    )
    p = AlertPipeline(settings)
    alerts = []
    # A day and a half of other news moves the pipeline past its warm-up ...
    for w in range(int(1.5 * DAY)):
        p.add(scored(f"calm{w}", w * SIZE, entities=("Other",)))
        alerts += p.advance().alerts
    start = int(1.5 * DAY) * SIZE
    # ... then FTX appears for the first time, and negatively.
    for i in range(8):
        p.add(scored(f"ftx{i}", start + 150 * i, "negative", entities=("FTX",)))
        p.add(scored(f"calm-b{i}", start + 150 * i + 1, entities=("Other",)))
        alerts += p.advance().alerts
    for w in range(1, 6):
        p.add(scored(f"tick{w}", start + 1200 + w * SIZE, entities=("Other",)))
        alerts += p.advance().alerts
    ftx = [a for a in alerts if a.scope == "FTX"]
    assert ftx and ftx[0].status == "firing" and ftx[0].scope_kind == "entity"
    assert ftx[0].figures["negative_surprise"] >= 5
    assert ftx[0].evidence and ftx[0].incident
    assert not [a for a in alerts if a.scope == "Other"]


def test_a_steady_busy_scope_does_not_fire():
    """A busy ticker (10 items per window, 3 negative, with ordinary jitter): once it has a
    day of history (the pipeline's warm-up) neither count rule fires over three more days."""
    rules = [rule("negative_count"), rule("attention", span_windows=72, surprise=4.0)]
    states = [DetectorState(), DetectorState()]
    for w in range(4 * DAY):
        n = 10 + (w * 7) % 5 - 2  # 8..12
        k = 3 + (w * 3) % 3 - 1  # 2..4
        for r, st in zip(rules, states, strict=True):
            d = step(r, st, n, k, DAY, warming=w < DAY)
            assert not d.hot, (r.name, w)


def test_good_news_volume_alone_does_not_page():
    """A quiet entity suddenly has 40 items in an hour, none negative: the attention
    surprise is huge but there is no negative evidence, so it is not hot; with a few
    negatives among them it is."""
    r = rule("attention", span_windows=72, surprise=4.0, min_negative=1)
    good, bad = DetectorState(), DetectorState()
    for _ in range(2 * DAY):
        step(r, good, 0, 0, DAY)
        step(r, bad, 0, 0, DAY)
    for _ in range(12):
        dg = step(r, good, 4, 0, DAY)
        db = step(r, bad, 4, 1, DAY)
    assert dg.figures["attention_surprise"] > 10 and not dg.hot
    assert dg.figures["negative_surprise"] == 0
    assert db.hot and db.figures["negative_surprise"] >= r.evidence_surprise


def test_a_surge_resolves_after_quiet_windows():
    r = rule("negative_count", surprise=5.0, resolve_after_windows=3)
    st = DetectorState()
    for _ in range(2 * DAY):
        step(r, st, 0, 0, DAY)
    for _ in range(4):
        d = step(r, st, 3, 3, DAY)
    assert d.persistent
    quiet = [step(r, st, 0, 0, DAY) for _ in range(40)]
    # The span still holds the burst for an hour; after it leaves, windows are not warm.
    streaks = [d.quiet_streak for d in quiet]
    assert streaks[:5] == [0] * 5 and max(streaks) >= 3


def test_the_baseline_excludes_the_current_span():
    """A burst is judged against the history before the span: the expectation does not rise
    while the burst is in the span."""
    r = rule("negative_count")
    st = DetectorState()
    for _ in range(DAY):
        step(r, st, 0, 0, DAY)
    expected = [step(r, st, 3, 3, DAY).figures["expected_negative"] for _ in range(12)]
    # Only the silent windows leaving the span enter the baseline: the expectation falls.
    assert expected == sorted(expected, reverse=True) and expected[-1] < 0.01


def test_rate_state_round_trips():
    st = RateState()
    st.update(3, 1, 30, 10, 0.01)
    st.update(2, 0, 28, 9, 0.01)
    assert RateState.from_list(st.to_list()) == st
    _, _, fig = assess_counts(rule("negative_count"), st, 5, 5, 12)
    assert set(fig) >= {"negative_surprise", "expected_negative", "baseline_share"}


def test_count_rules_wait_out_the_start_of_a_run():
    """At the start of a run every scope looks new: the count rules give no verdict for a
    baseline half-life of event time (a burst in the first hours does not fire)."""
    settings = Settings(
        windows=WindowSettings(size_s=SIZE, allowed_lateness_s=0),
        alerts=AlertSettings(rules=[rule("negative_count", surprise=5.0)]),
    )
    p = AlertPipeline(settings)
    alerts = []
    for i in range(40):
        p.add(scored(f"n{i}", 600 + 30 * i, "negative", entities=("FTX",)))
        alerts += p.advance().alerts
    p.add(scored("late-tick", 4 * 3600, entities=("Other",)))
    alerts += p.advance().alerts
    assert alerts == []


def test_a_restarted_pipeline_gives_the_same_alerts_and_incidents():
    """Dump the whole pipeline state half-way (as the worker's table does), load it into a
    new pipeline, and the rest of the run raises the same alerts, in the same incidents."""
    settings = Settings(
        windows=WindowSettings(size_s=SIZE, allowed_lateness_s=0),
        alerts=AlertSettings(rules=[rule("negative_count", surprise=5.0)]),
    )
    docs = [scored(f"calm{w}", w * SIZE, entities=("Other",)) for w in range(int(1.5 * DAY))]
    start = int(1.5 * DAY) * SIZE
    docs += [scored(f"ftx{i}", start + 150 * i, "negative", entities=("FTX",)) for i in range(8)]
    docs += [scored(f"t{w}", start + 1200 + w * SIZE, entities=("Other",)) for w in range(12)]
    cut = int(1.5 * DAY) + 3

    def run(restart: bool):
        p = AlertPipeline(settings)
        out = []
        for i, d in enumerate(docs):
            if restart and i == cut:
                meta = p.dump_meta()
                scopes = {k: p.dump_scope(k) for k in list(p.scopes) + list(p.agg.windows)}
                p = AlertPipeline(settings)
                p.load(meta, {k: v for k, v in scopes.items() if v})
            p.add(d)
            out += p.advance().alerts
        return out

    straight, restarted = run(False), run(True)
    assert straight and [a.model_dump() for a in restarted] == [a.model_dump() for a in straight]
