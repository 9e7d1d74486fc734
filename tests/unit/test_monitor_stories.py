"""Story scopes (a listed name x an adverse event, counted once per outlet) and the story rule,
over explicit timelines; incidents that link alerts about the same name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from monitor_helpers import T0, scored

from foundation.schemas import Alert, ScoredDocument
from foundation.settings import AlertSettings, Settings, WindowSettings, default_rules
from ingest.tickers import default_index
from monitor.core.incidents import IncidentTracker, scope_name
from monitor.core.pipeline import AlertPipeline
from monitor.core.stories import StoryTracker, default_cues, events_of, parse_cues
from monitor.core.windowing import WindowAcc, outlet

SIZE = 300
DAY = 288  # windows
CUES = default_cues()


def doc(
    i: int | str,
    title: str,
    at: float,
    outlet_host: str = "a.example",
    sentiment: str = "negative",
    tickers: tuple[str, ...] = (),
    entities: tuple[str, ...] = (),
) -> ScoredDocument:
    d = scored(f"d{i}", at, sentiment, source="Feed", tickers=tickers, entities=entities)
    return d.model_copy(
        update={
            "document": d.document.model_copy(
                update={"title": title, "link": f"https://www.{outlet_host}/{i}"}
            )
        }
    )


def test_event_cues_name_the_adverse_events_of_a_headline():
    assert events_of("Crypto exchange FTX files for bankruptcy as its CEO resigns", CUES) == [
        "bankruptcy",
        "leadership",
    ]
    assert events_of("Elon Musk could cut half of Twitter’s workforce", CUES) == ["layoffs"]
    assert "withdrawals" in events_of("FTX halts customer withdrawals", CUES)
    assert "unrest" in events_of("Violent protests break out at iPhone factory", CUES)
    # Price moves and ordinary news are not events; whole words only.
    assert events_of("Shin Megami Tensei 5 Drops To Lowest Price Yet", CUES) == []
    assert events_of("Apple unveils a new iPad", CUES) == []
    assert events_of("Strikeforce review", CUES) == []


def test_a_bad_cue_file_is_an_error_naming_the_row():
    with pytest.raises(ValueError, match="row 2: bad pattern for 'x'"):
        parse_cues("event,pattern,description\nx,(unclosed,d\n")
    with pytest.raises(ValueError, match="row 3: event 'x' is listed twice"):
        parse_cues("event,pattern,description\nx,a,d\nx,b,d\n")
    with pytest.raises(ValueError, match="row 2: event and pattern are required"):
        parse_cues("event,pattern,description\n,a,d\n")
    # Comment lines are skipped.
    assert [c.event for c in parse_cues("event,pattern\n# note\nx,a\n")] == ["x"]


def test_the_outlet_is_the_link_host_without_www():
    assert outlet(doc(1, "t", 0, "theguardian.com")) == "theguardian.com"
    d = doc(2, "t", 0)
    bare = d.model_copy(update={"document": d.document.model_copy(update={"link": ""})})
    assert outlet(bare) == "Feed"


def _window(start_w: int, *outlets: tuple[str, bool]) -> WindowAcc:
    return WindowAcc(start=start_w * SIZE, count=len(outlets), outlets=dict(outlets))


def test_one_outlet_counts_once_per_story_within_the_gap():
    t = StoryTracker(size_s=SIZE, source_gap_windows=12, cues=CUES)
    key = "story:FTX:bankruptcy"
    w = t.close(key, _window(0, ("a.example", True), ("b.example", False)))
    assert (w.count, w.negative) == (2, 1)
    w = t.close(key, _window(1, ("a.example", True), ("c.example", False)))
    assert (w.count, w.negative) == (1, 0)  # a.example again: only c.example is new
    # After the gap the first outlet counts again.
    w = t.close(key, _window(14, ("a.example", True)))
    assert (w.count, w.negative) == (1, 1)
    # A window rebuilt from stored stats (no outlets) is already counted.
    rebuilt = WindowAcc(start=20 * SIZE, count=3, negative=1)
    assert t.close(key, rebuilt) is rebuilt


def test_story_windows_do_not_depend_on_arrival_order():
    """Outlets are counted when windows close, so any arrival order within the lateness gives
    the same story windows (a restarted worker redelivers out of order)."""
    docs = [
        doc(i, "Acme hacked", 60 * i, host, tickers=("ACME",))
        for i, host in enumerate(["a.example", "b.example", "a.example", "c.example"] * 3)
    ]

    late_ok = _settings().model_copy(
        update={"windows": WindowSettings(size_s=SIZE, allowed_lateness_s=900)}
    )

    def run(order):
        p = AlertPipeline(late_ok)
        for d in order:
            p.add(d)
        out = p.finish()
        return sorted(
            (s.scope, s.window_start, s.count) for s in out.closed if s.scope_kind == "story"
        )

    assert run(docs) == run(list(reversed(docs))) == run(docs[1::2] + docs[::2])


def test_positive_documents_and_documents_without_names_do_not_count():
    t = StoryTracker(size_s=SIZE, cues=CUES)
    assert (
        t.scopes(doc(1, "Coinbase rises as rival collapses", 0, sentiment="positive"), ["X"]) == []
    )
    assert t.scopes(doc(2, "FTX collapses", 0), []) == []
    assert t.scopes(doc(3, "FTX launches a new app", 0), ["FTX"]) == []
    assert t.scopes(doc(4, "FTX collapses", 0), ["FTX"]) == ["story:FTX:collapse"]


windows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "D", "E"]),
        st.sets(st.sampled_from(["a.example", "b.example", "c.example"]), min_size=1),
        st.booleans(),
    ),
    max_size=120,
)


@hsettings(max_examples=60, deadline=None)
@given(windows)
def test_story_tracking_is_bounded_and_deterministic(items):
    def run() -> tuple[list[tuple[int, int]], dict]:
        t = StoryTracker(size_s=SIZE, source_gap_windows=12, capacity=10, cues=CUES)
        out = []
        for w, (name, outlets, neg) in enumerate(items):
            acc = _window(w, *((o, neg) for o in sorted(outlets)))
            c = t.close(f"story:{name}:cyber", acc)
            out.append((c.count, c.negative))
            assert len(t.stories) <= 10
            assert all(len(v) <= 3 for v in t.stories.values())  # one entry per outlet
        return out, t.to_dict()

    assert run() == run()


def _settings() -> Settings:
    return Settings(
        windows=WindowSettings(size_s=SIZE, allowed_lateness_s=0),
        alerts=AlertSettings(rules=[r for r in default_rules() if r.kind == "story"]),
    )


def _calm(p: AlertPipeline, windows: int, start: float = 0) -> list[Alert]:
    alerts: list[Alert] = []
    for w in range(windows):
        p.add(doc(f"calm{start}-{w}", "Markets wait for the Fed", start + w * SIZE, "x.example"))
        alerts += p.advance().alerts
    return alerts


def test_a_new_story_fires_on_its_third_outlet_whatever_the_model_says():
    p = AlertPipeline(_settings())
    alerts = _calm(p, int(1.5 * DAY))  # past the warm-up
    t = int(1.5 * DAY) * SIZE
    titles = [
        ("Elon Musk could cut half of Twitter’s workforce", "theverge.com", "negative"),
        ("Twitter layoffs may hit half of workforce", "cnet.com", "neutral"),
        ("Musk reportedly planning to cut Twitter's workforce in half", "engadget.com", "neutral"),
    ]
    for i, (title, host, sentiment) in enumerate(titles):
        p.add(doc(f"tw{i}", title, t + 1500 * i, host, sentiment, tickers=("TWTR",)))
        alerts += p.advance().alerts
    alerts += _calm(p, 12, t + 3001)
    story = [a for a in alerts if a.scope_kind == "story"]
    assert [(a.scope, a.status) for a in story][:1] == [("TWTR:layoffs", "firing")]
    f = story[0].figures
    assert f["count"] == 3 and f["attention_surprise"] >= 3.6
    # The evidence is the story's headlines, the neutral ones included.
    assert {e.title for e in story[0].evidence} == {t for t, _, _ in titles}


def test_two_outlets_or_one_outlet_repeating_do_not_fire():
    p = AlertPipeline(_settings())
    alerts = _calm(p, int(1.5 * DAY))
    t = int(1.5 * DAY) * SIZE
    for i in range(8):  # one outlet, eight times
        p.add(
            doc(
                f"one{i}",
                "Acme lays off 500 workers",
                t + 60 * i,
                "deals.example",
                tickers=("ACME",),
            )
        )
    for i, host in enumerate(["b.example"]):  # and one more outlet: two in all
        p.add(doc(f"two{i}", "Acme job cuts", t + 600, host, tickers=("ACME",)))
    alerts += p.advance().alerts
    alerts += _calm(p, 24, t + 601)
    assert not [a for a in alerts if a.scope_kind == "story"]


def test_a_story_without_one_negative_reading_does_not_fire():
    p = AlertPipeline(_settings())
    alerts = _calm(p, int(1.5 * DAY))
    t = int(1.5 * DAY) * SIZE
    for i, host in enumerate(["a.example", "b.example", "c.example", "d.example"]):
        p.add(doc(f"n{i}", "EU opens probe into Acme deal", t + 60 * i, host, "neutral", ("ACME",)))
    alerts += p.advance().alerts
    alerts += _calm(p, 24, t + 601)
    assert not [a for a in alerts if a.scope_kind == "story"]


def test_a_story_resolves_when_the_outlets_fall_silent():
    p = AlertPipeline(_settings())
    alerts = _calm(p, int(1.5 * DAY))
    t = int(1.5 * DAY) * SIZE
    for i, host in enumerate(["a.example", "b.example", "c.example", "d.example"]):
        p.add(doc(f"h{i}", "Acme hacked, data stolen", t + 60 * i, host, tickers=("ACME",)))
    alerts += _calm(p, 24 * 12, t + 601)  # a day of other news
    story = [(a.scope, a.status) for a in alerts if a.scope_kind == "story"]
    assert story[0] == ("ACME:cyber", "firing") and story[-1] == ("ACME:cyber", "resolved")


def test_names_come_from_listed_names_not_emerging_ones():
    p = AlertPipeline(Settings(), known_names=default_index().name_tokens())
    d = doc(1, "Protesters heckle Zorblax over layoffs", 0, tickers=("ACME",), entities=("FTX",))
    keys = p._extra_scopes(d)
    assert "story:ACME:layoffs" in keys and "story:FTX:layoffs" in keys
    assert not [k for k in keys if k.startswith("story:Zorblax")]


def test_scope_names_and_same_name_incidents():
    assert scope_name("story:TWTR:layoffs") == "TWTR"
    assert scope_name("story:Alameda Research:bankruptcy") == "Alameda Research"
    assert scope_name("ticker:TWTR") == "TWTR" and scope_name("entity:FTX") == "FTX"
    assert scope_name("sector:crypto") is None and scope_name("all:all") is None

    def alert(kind: str, scope: str, minutes: int) -> Alert:
        at = T0 + timedelta(minutes=minutes)
        return Alert(
            fingerprint=f"{kind}{scope}",
            rule="r",
            status="firing",
            scope_kind=kind,  # type: ignore[arg-type]
            scope=scope,
            starts_at=at,
            updated_at=at,
            summary="s",
        )

    tr = IncidentTracker(6 * 3600)
    first, _ = tr.add(alert("story", "TWTR:layoffs", 0))
    assert tr.add(alert("ticker", "TWTR", 30))[0].id == first.id  # same name
    # A sector alert whose span's headlines carry TWTR joins too; one about nothing else opens.
    assert tr.add(alert("sector", "communication_services", 40), names={"TWTR"})[0].id == first.id
    assert tr.add(alert("story", "ACME:cyber", 50))[0].id != first.id


def test_tracker_state_round_trips():
    t = StoryTracker(size_s=SIZE, cues=CUES)
    t.close("story:ACME:cyber", _window(0, ("a.example", True)))
    u = StoryTracker(size_s=SIZE, cues=CUES)
    u.load(t.to_dict())
    assert u.to_dict() == t.to_dict()
    assert u.close("story:ACME:cyber", _window(1, ("a.example", True))).count == 0


def test_a_story_alert_links_to_the_alerts_page():
    from monitor.core.lifecycle import dashboard_link

    assert dashboard_link("http://d", "story", "FTX:bankruptcy", T0, T0).startswith(
        "http://d/alerts?"
    )
    assert dashboard_link("http://d", "entity", "FTX", T0, T0).startswith("http://d/alerts?")
    assert dashboard_link("http://d", "ticker", "TWTR", T0, T0).startswith("http://d/ticker/TWTR?")
