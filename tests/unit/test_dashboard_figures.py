from datetime import UTC, datetime, timedelta

import plotly.graph_objects as go
import pytest

from dashboard import figures
from dashboard.bands import BandPoint
from dashboard.queries import AlertRow, Bucket

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
END = T0 + timedelta(hours=2)


def F(fig):
    # Validating the dict spec through plotly also checks every property name and value.
    return go.Figure(fig)


def bucket(scope, i, count=10, neg=2, score=0.5):
    return Bucket(scope, T0 + timedelta(minutes=15 * i), count, neg, count - neg - 1, 1, score)


def alert(status="firing", scope="earnings", ends=None):
    return AlertRow(
        fingerprint="fp-" + scope,
        starts_at=T0 + timedelta(minutes=30),
        rule="negative_surge",
        scope_kind="topic",
        scope=scope,
        status=status,
        ends_at=ends,
        updated_at=T0,
        payload={},
    )


def test_trends_are_small_multiples_one_panel_per_topic_with_alert_spans():
    rows = [bucket("earnings", i, score=5.0) for i in range(4)] + [bucket("macro", 0, score=-5.0)]
    fig = F(figures.topic_trends_figure(rows, [alert()], END, ["macro", "earnings"]))
    assert [t.name for t in fig.data] == ["macro", "earnings"]  # in the order asked
    assert list(fig.data[1].y) == [0.5] * 4 and list(fig.data[0].y) == [-0.5]
    # Each topic has its own axes, all on the same −1 … 1 scale.
    assert (fig.data[0].xaxis, fig.data[1].xaxis) == ("x", "x2")
    assert list(fig.layout.yaxis.range) == list(fig.layout.yaxis2.range) == [-1.05, 1.05]
    (shape,) = fig.layout.shapes
    # A firing alert is shaded on its topic's panel, to the end of the range, in naive UTC.
    assert shape.xref == "x2"
    assert (shape.x0, shape.x1) == ("2026-03-10 12:30:00", "2026-03-10 14:00:00")


def test_trend_topics_put_alerted_then_the_biggest_moves_first():
    calm = [bucket("calm", i, score=1.0) for i in range(8)]
    # Turns negative at the end on many documents / on one document.
    big = [bucket("big", i, score=1.0) for i in range(6)]
    big += [bucket("big", i, count=40, score=-30.0) for i in (6, 7)]
    tiny = [bucket("tiny", i, score=1.0) for i in range(6)]
    tiny += [bucket("tiny", i, count=1, score=-1.0) for i in (6, 7)]
    rows = calm + big + tiny
    moves = figures.topic_moves(rows)
    assert abs(moves["big"]) > abs(moves["tiny"]) > abs(moves["calm"])
    assert figures.trend_topics(rows, []) == ["big", "tiny", "calm"]
    assert figures.trend_topics(rows, [alert(scope="calm")], limit=2) == ["calm", "big"]


def test_points_are_sized_by_documents():
    sizes = figures.volume_sizes([1, 4, 100])
    assert sizes[0] < sizes[1] < sizes[2]
    rows = [bucket("x", 0, count=1, neg=1), bucket("x", 1, count=50, neg=10)]
    fig = F(figures.scope_figure(rows, [None, None], [], END, 900, "t"))
    share = next(t for t in fig.data if t.name == "negative share")
    small, large = share.marker.size
    assert small < large  # one negative document is a dot, fifty documents a disc


def test_heatmap_leaves_empty_buckets_blank():
    rows = [bucket("earnings", 0, count=10, neg=5), bucket("macro", 1, count=4, neg=1)]
    (hm,) = F(figures.negative_heatmap_figure(rows)).data
    assert list(hm.y) == ["earnings", "macro"]
    assert [list(r) for r in hm.z] == [[0.5, None], [None, 0.25]]


def test_volume_is_stacked_by_sentiment():
    fig = F(figures.volume_figure([bucket("all", 1), bucket("all", 0, count=6, neg=3)]))
    assert [t.name for t in fig.data] == ["negative", "neutral", "positive"]
    assert list(fig.data[0].y) == [3, 2]  # sorted by time
    assert fig.layout.barmode == "stack"


def test_scope_figure_maps_points_back_to_their_bucket():
    rows = [bucket("SIVB", i) for i in range(3)]
    band = [None, BandPoint(0.2, 0.1, 0.3), BandPoint(0.2, 0.1, 0.3)]
    fig = F(figures.scope_figure(rows, band, [alert("resolved", ends=END)], END, 900, "t"))
    line = next(t for t in fig.data if t.name == "negative share")
    assert list(line.y) == [0.2, 0.2, 0.2]
    start, end, n = line.customdata[1]
    assert (start, end, n) == ("2026-03-10T12:15:00+00:00", "2026-03-10T12:30:00+00:00", 10)
    band_traces = [t for t in fig.data if t.name in ("band upper", "baseline band")]
    assert [len(t.x) for t in band_traces] == [2, 2]
    assert len(fig.layout.shapes) == 1
    with pytest.raises(ValueError):
        F(figures.scope_figure(rows, band[:1], [], END, 900, "t"))


@pytest.mark.parametrize(
    "build",
    [
        lambda: F(figures.topic_trends_figure([], [], END, [])),
        lambda: F(figures.negative_heatmap_figure([])),
        lambda: F(figures.volume_figure([])),
        lambda: F(figures.scope_figure([], [], [], END, 300, "t")),
        lambda: F(figures.source_rate_figure([], 300)),
        lambda: F(figures.alert_timeline_figure([], T0, END)),
    ],
)
def test_empty_data_says_so(build):
    fig = build()
    assert not fig.data
    assert "No " in fig.layout.annotations[0].text


def test_source_rate_is_per_hour():
    fig = F(figures.source_rate_figure([bucket("wire", 0, count=5)], 900))
    assert list(fig.data[0].y) == [20.0]


def test_alert_timeline_has_firing_and_resolved():
    fig = F(
        figures.alert_timeline_figure(
            [alert(), alert("resolved", "macro", ends=T0 + timedelta(hours=1))], T0, END
        )
    )
    assert [t.name for t in fig.data] == ["firing", "resolved"]
    assert fig.data[0].x[1] == "2026-03-10 14:00:00"


def test_probability_bars_show_the_top_labels_highest_on_top():
    fig = F(figures.probability_figure({"a": 0.1, "b": 0.7, "c": 0.2}, "t", top=2))
    assert list(fig.data[0].y) == ["c", "b"]
