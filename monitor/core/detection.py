"""Surge detection over closed windows: pure functions and small mutable state, no I/O.

Baseline (per rule and scope): exponentially weighted moving averages (EWMA) of the window
count and of the negative count, with their EW variances. EWMA was chosen over a rolling
median/MAD because its state is five numbers per scope (cheap to keep in a Faust table and to
replay), it handles empty windows naturally (a zero is just another observation), and a
half-life of ``baseline_halflife_windows`` (36 five-minute windows = 3 h, so about a day of
windows carries ~all of the weight) is easy to reason about. Its weakness, being pulled by the
anomaly itself, is handled by giving hot windows a quarter of the normal weight.

Statistics are computed on the last ``span_windows`` closed windows taken together (default
12 x 5 min = a rolling hour, evaluated every window): ``n`` documents of which ``k`` are
negative. A span keeps the window grid fine for busy scopes while giving a low-volume scope
(a general news feed has ~5 English items per 5 minutes in total) enough documents to test.

- **share**: the Wilson score lower bound of ``k / n`` at ``share_z`` must exceed the baseline
  share, and ``k / n`` must exceed it by at least ``min_share_lift``. The Wilson bound respects
  volume: 3 negatives out of 4 has a lower bound near 0.3, so it is not a surge on its own,
  while 30 out of 40 is. The baseline share is count-weighted and shrunk towards
  ``prior_share`` with ``prior_docs`` pseudo-documents, so a rarely seen scope does not get a
  baseline of exactly 0.
- **volume**: z score of ``log(1 + n / span)`` against the EW mean and variance of
  ``log(1 + window count)`` (volume swings are multiplicative: the busy hour doubles a quiet
  one), variance floored by Poisson noise (NAB figures in docs/alerts.md). The
  negative-count test of the share rule stays linear, with a Poisson floor
  (``max(var, mean, 1)``): negative counts are small.

Rule kinds:
- ``negative_share`` (default ``negative_surge``): hot when ``n >= min_count``, the share test
  passes and, if ``require_volume``, the negative count is up by ``volume_z`` too (a high share
  at night on a normal number of negative items is not a surge).
- ``volume``: hot when ``n >= min_count`` and the volume z reaches ``volume_z``.

Persistence: a rule fires when at least ``persistence_k`` of the last ``persistence_n`` windows
were hot. Hysteresis: once firing it stays firing while windows are *warm* (the same tests at
half the thresholds) and resolves after ``resolve_after_windows`` windows in a row that are not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from foundation.settings import RuleSettings
from monitor.core.surges import COUNT_KINDS, RateState, assess_counts

# Weight of a hot window in the baseline, relative to a normal one (see module docstring).
HOT_WINDOW_WEIGHT = 0.25


def wilson_lower(k: int, n: int, z: float) -> float:
    """Wilson score interval lower bound of a binomial proportion ``k / n`` (0 when n is 0)."""
    if n <= 0:
        return 0.0
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, (centre - margin) / denom)


def alpha_for(halflife_windows: float) -> float:
    """EWMA smoothing factor whose weights halve every ``halflife_windows`` windows."""
    return 1.0 - 0.5 ** (1.0 / halflife_windows)


@dataclass(slots=True)
class Baseline:
    """EWMA state of one scope: window count and negative count, means and variances, and
    the mean and variance of log(1 + count) for the volume test."""

    windows: int = 0
    mean_count: float = 0.0
    var_count: float = 0.0
    mean_neg: float = 0.0
    var_neg: float = 0.0
    mean_log: float = 0.0
    var_log: float = 0.0

    def update(self, count: int, negative: int, alpha: float) -> None:
        lx = math.log1p(count)
        if self.windows == 0:
            self.mean_count, self.mean_neg, self.mean_log = float(count), float(negative), lx
        else:
            d = count - self.mean_count
            self.mean_count += alpha * d
            self.var_count = (1 - alpha) * (self.var_count + alpha * d * d)
            d = negative - self.mean_neg
            self.mean_neg += alpha * d
            self.var_neg = (1 - alpha) * (self.var_neg + alpha * d * d)
            d = lx - self.mean_log
            self.mean_log += alpha * d
            self.var_log = (1 - alpha) * (self.var_log + alpha * d * d)
        self.windows += 1

    def share(self, rule: RuleSettings) -> float:
        """Count-weighted negative share, shrunk towards the rule's prior."""
        return (self.mean_neg + rule.prior_share * rule.prior_docs * self._alpha(rule)) / (
            self.mean_count + rule.prior_docs * self._alpha(rule)
        )

    def volume_z(self, count: int, span: int) -> float:
        """z of the span's mean window count on the log scale, where busy-hour swings are
        multiplicative; variance floored by the Poisson noise of the span (1 / (n + 1))."""
        x = math.log1p(count / span)
        floor = 1.0 / (self.mean_count * span + 1.0)
        return (x - self.mean_log) / math.sqrt(max(self.var_log, floor))

    @staticmethod
    def _alpha(rule: RuleSettings) -> float:
        # The means are per window; prior_docs is spread over the EWMA's effective length.
        return alpha_for(rule.baseline_halflife_windows)

    def to_list(self) -> list[float]:
        return [
            self.windows,
            self.mean_count,
            self.var_count,
            self.mean_neg,
            self.var_neg,
            self.mean_log,
            self.var_log,
        ]

    @classmethod
    def from_list(cls, v: list[float]) -> Baseline:
        return cls(int(v[0]), *(float(x) for x in v[1:7]))


def _z(x: float, mean: float, var: float) -> float:
    return (x - mean) / math.sqrt(max(var, mean, 1.0))


@dataclass(frozen=True, slots=True)
class Assessment:
    hot: bool
    warm: bool
    figures: dict[str, float]


def assess(
    rule: RuleSettings, base: Baseline, count: int, negative: int, span: int = 1
) -> Assessment:
    """Judge ``count``/``negative`` summed over the last ``span`` closed windows against the
    baseline (pure: the baseline is not changed). Per-window means and variances scale by
    ``span`` (windows taken as independent)."""
    share = negative / count if count else 0.0
    p0 = base.share(rule)
    volume_z = base.volume_z(count, span)
    neg_volume_z = _z(negative, base.mean_neg * span, base.var_neg * span)
    figures: dict[str, float] = {
        "count": float(count),
        "negative": float(negative),
        "negative_share": round(share, 6),
        "baseline_share": round(p0, 6),
        "baseline_volume": round(base.mean_count, 6),
        "volume_z": round(volume_z, 6),
        "negative_volume_z": round(neg_volume_z, 6),
        "baseline_windows": float(base.windows),
        "span_windows": float(span),
    }
    if base.windows < rule.min_baseline_windows:
        # Not enough history: no verdict. It cannot start a surge, and it does not count as
        # quiet either, so an alert re-armed after a restart waits for a baseline to judge.
        figures["wilson_lower"] = round(wilson_lower(negative, count, rule.share_z), 6)
        return Assessment(False, True, figures)
    if count < rule.min_count:
        # Too few documents to say anything: quiet (a silent scope resolves).
        figures["wilson_lower"] = round(wilson_lower(negative, count, rule.share_z), 6)
        return Assessment(False, False, figures)
    if rule.kind == "volume":
        hot = volume_z >= rule.volume_z
        warm = volume_z >= rule.volume_z / 2
        return Assessment(hot, warm or hot, figures)
    lower = wilson_lower(negative, count, rule.share_z)
    lower_half = wilson_lower(negative, count, rule.share_z / 2)
    figures["wilson_lower"] = round(lower, 6)
    lift = share - p0
    hot = lower > p0 and lift >= rule.min_share_lift
    warm = lower_half > p0 and lift >= rule.min_share_lift / 2
    if rule.require_volume:
        hot = hot and neg_volume_z >= rule.volume_z
        warm = warm and neg_volume_z >= rule.volume_z / 2
    return Assessment(hot, warm or hot, figures)


@dataclass(slots=True)
class DetectorState:
    """Per rule and scope: baseline, recent hot flags (persistence) and the quiet streak."""

    baseline: Baseline = field(default_factory=Baseline)
    recent: list[int] = field(default_factory=list)  # 1 = hot, newest last, at most n
    quiet_streak: int = 0  # windows in a row that were not warm
    # (count, negative) of the last span_windows windows, newest last.
    span: list[tuple[int, int]] = field(default_factory=list)
    # Gamma-Poisson rates of the count rules (negative_count, attention); None for the others.
    rate: RateState | None = None
    # Running sums of ``span`` kept by ``step`` (integers, so exactly the re-summed values):
    # [span_windows, n, k] for the share and volume rules, [span_windows, n, k, n before,
    # k before] for the count rules, whose two 72-window spans were re-summed at every step.
    # Derived, never dumped: None (new, restored or edited span) makes ``step`` re-sum.
    sums: list[int] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "b": self.baseline.to_list(),
            "r": list(self.recent),
            "q": self.quiet_streak,
            "s": [list(x) for x in self.span],
        }
        if self.rate is not None:
            out["c"] = self.rate.to_list()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DetectorState:
        return cls(
            Baseline.from_list(d["b"]),
            [int(x) for x in d["r"]],
            int(d["q"]),
            [(int(c), int(k)) for c, k in d.get("s", [])],
            RateState.from_list(d["c"]) if d.get("c") else None,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one window: ``persistent`` = the k-of-n rule is met now."""

    hot: bool
    warm: bool
    persistent: bool
    quiet_streak: int
    figures: dict[str, float]
    # How many windows back the oldest hot window of the persistence span is (0 = this one).
    hot_since: int = 0


def step(
    rule: RuleSettings,
    state: DetectorState,
    count: int,
    negative: int,
    windows_per_day: float = 288.0,
    warming: bool = False,
) -> Decision:
    """Assess one closed window, then fold it into ``state`` (persistence, quiet streak,
    baseline). Windows must be fed in order, empty ones included. The tests run on the sum of
    the last ``span_windows`` windows, so low-volume scopes gather enough documents.
    ``windows_per_day`` converts the count rules' daily prior into windows; ``warming``
    (the pipeline has judged less than one span of event time) keeps the count rules from
    firing: at the start of a run every scope looks new."""
    if rule.kind in COUNT_KINDS:
        return _step_counts(rule, state, count, negative, windows_per_day, warming)
    state.sums = sums = _push_window(state.span, state.sums, rule.span_windows, 1, count, negative)
    n, k = sums[1], sums[2]
    a = assess(rule, state.baseline, n, k, len(state.span))
    state.recent.append(1 if a.hot else 0)
    del state.recent[: -rule.persistence_n]
    hot_windows = sum(state.recent)
    hot_since = len(state.recent) - 1 - state.recent.index(1) if hot_windows else 0
    state.quiet_streak = 0 if a.warm else state.quiet_streak + 1
    weight = HOT_WINDOW_WEIGHT if a.hot else 1.0
    state.baseline.update(count, negative, alpha_for(rule.baseline_halflife_windows) * weight)
    figures = dict(a.figures)
    figures["hot_windows"] = float(hot_windows)
    return Decision(
        hot=a.hot,
        warm=a.warm,
        persistent=hot_windows >= rule.persistence_k,
        quiet_streak=state.quiet_streak,
        figures=figures,
        hot_since=hot_since,
    )


def _step_counts(
    rule: RuleSettings,
    state: DetectorState,
    count: int,
    negative: int,
    windows_per_day: float,
    warming: bool = False,
) -> Decision:
    """``step`` for the count rules. The span is judged against the history *before* it: a
    window enters the rate baseline when it leaves the span (``state.span`` keeps two spans:
    the current one and the one before, whose sum feeds the span-count variance), so a burst
    cannot teach the baseline its own first hour. The prior stands in for history, so there
    is no ``min_baseline_windows`` wait unless the rule asks for one."""
    if state.rate is None:
        state.rate = RateState()
    s = rule.span_windows
    span = state.span
    state.sums = sums = _push_window(span, state.sums, s, 2, count, negative)
    n, k = sums[1], sums[2]
    hot, warm, figures = assess_counts(
        rule, state.rate, n, k, min(len(span), s), windows_per_day, state.baseline.windows
    )
    state.baseline.windows += 1
    figures["baseline_windows"] = float(state.baseline.windows)
    if state.baseline.windows <= rule.min_baseline_windows or warming:
        hot, warm = False, True
    state.recent.append(1 if hot else 0)
    del state.recent[: -rule.persistence_n]
    hot_windows = sum(state.recent)
    hot_since = len(state.recent) - 1 - state.recent.index(1) if hot_windows else 0
    state.quiet_streak = 0 if warm else state.quiet_streak + 1
    if len(state.span) > s:
        # The window that just left the span joins the baseline (a quarter of the weight
        # while the scope is hot); the span before the current one gives the variance.
        left_n, left_k = span[-s - 1]
        # Down-weighted while the counts are unusual, negative evidence or not: the baseline
        # should not learn a burst as the new normal.
        unusual = max(figures.get("attention_surprise", 0.0), figures["negative_surprise"])
        # (While warming up, everything is new: learn at full weight.)
        down = not warming and (hot or unusual >= rule.surprise / 2)
        weight = HOT_WINDOW_WEIGHT if down else 1.0
        # The span-count variance only from full spans (a partial one scaled up is noise).
        full = len(span) == 2 * s
        state.rate.update(
            left_n,
            left_k,
            sums[3] if full else None,
            sums[4] if full else None,
            alpha_for(rule.baseline_halflife_windows) * weight,
        )
    figures["hot_windows"] = float(hot_windows)
    return Decision(
        hot=hot,
        warm=warm,
        persistent=hot_windows >= rule.persistence_k,
        quiet_streak=state.quiet_streak,
        figures=figures,
        hot_since=hot_since,
    )


def _push_window(
    span: list[tuple[int, int]],
    sums: list[int] | None,
    s: int,
    spans: int,
    count: int,
    negative: int,
) -> list[int]:
    """Append a window to ``span``, which keeps ``spans * s`` windows (the span of ``s``
    windows; for the count rules also the one before it), and return the sums ``[s, n, k]``
    (plus ``n before, k before`` for two spans): ``sums`` updated by the windows that moved,
    or re-summed when it is missing or was kept for another span (the same integers)."""
    if sums is None or len(sums) != 1 + 2 * spans or sums[0] != s or len(span) > spans * s:
        span.append((count, negative))
        del span[: -spans * s]
        cur, before = span[-s:], span[:-s]
        out = [s, sum(c for c, _ in cur), sum(x for _, x in cur)]
        if spans == 2:
            out += [sum(c for c, _ in before), sum(x for _, x in before)]
        return out
    if len(span) == spans * s:  # the oldest window leaves
        c0, x0 = span.pop(0)
        sums[2 * spans - 1] -= c0
        sums[2 * spans] -= x0
    span.append((count, negative))
    sums[1] += count
    sums[2] += negative
    if spans == 2 and len(span) > s:  # the window s back moves to the span before
        c1, x1 = span[-s - 1]
        sums[1] -= c1
        sums[2] -= x1
        sums[3] += c1
        sums[4] += x1
    return sums
