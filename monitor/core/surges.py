"""Count surges: negative documents and attention (volume) against a scope's own rate (pure).

The share test (``monitor.detection``) asks "is a larger *fraction* negative than usual?"; it
cannot see a scope that is usually silent and suddenly has dozens of items (a crisis is first
an attention event), and it needs history before it can judge. These two rules ask "are there
more documents (negative ones, or any) than this scope's rate explains?":

- ``negative_count``: the number ``k`` of negative documents in the span against the scope's
  negative rate.
- ``attention`` (meant for entity, ticker and watchlist scopes): the number ``n`` of documents
  in the span against the scope's document rate, **and** minimum negative evidence: at least
  ``min_negative`` negatives whose count is itself unusual at a lower bar
  (``evidence_surprise``, default 2: p <= 0.01), so a burst of good news (an earnings beat, a
  takeover offer the model reads as neutral) does not page a risk team, while a burst whose
  negatives rose with it does even when the model reads most of it as neutral.
- ``story`` (for ``story:`` scopes, ``monitor.core.stories``): the number of distinct outlets
  reporting one adverse event about one name, against that story's own rate, with at least
  ``min_count`` outlets; no model evidence is asked (the event cue is the evidence).

**The baseline is a Gamma-Poisson model.** The scope's rate per window has a Gamma posterior
built from exponentially weighted sums of what it saw (half-life
``baseline_halflife_windows``) plus a **prior**: ``prior_rate_per_day`` documents a day
(negatives: that times ``prior_share``) with the weight of ``prior_days`` days of observation.
The prior enters as pseudo-observations that are forgotten over their own length (half-life
``prior_days``), so after a day a busy scope's rate is its own, not pulled towards the prior;
the posterior's shapes are floored at the prior's counts, so a long-silent scope keeps a rate
of a fraction of a document per baseline memory and some uncertainty instead of collapsing to
zero. The prior is what lets a
scope seen for the first time (a new entity) alert on its first burst.

**The test is a negative-binomial tail.** The span's count (sum of ``span_windows`` windows)
has a predictive distribution with mean ``m = span x rate`` and variance the larger of
(a) the Gamma-Poisson variance ``m + span^2 x Var(rate)`` (Poisson noise plus the uncertainty
of a rate learnt from little data: wide for a new scope), and (b) the exponentially weighted
variance of the scope's observed span counts (news is bursty: a scope that regularly jumps has
a wide distribution, so its ordinary jumps are not surprises), capped at the variance of a
negative binomial of shape 1 (a geometric distribution: for a quiet scope the observed
variance comes from a few past bursts and would otherwise make every burst unsurprising).
A negative binomial with that mean and variance gives ``P(K >= k)``; the figure on the alert
is its surprise ``-log10 P`` (``negative_surprise``, ``attention_surprise``). Hot when the
surprise reaches ``surprise``. The default is the logarithm of the number of independent
tests a rule makes in a month, so that chance alone gives about one hot evaluation per rule
and month: about 100 named scopes are active on a day (68 listed ones a day in November
2022, plus emerging names), a one-hour span gives 720 independent spans a month per scope
(``negative_count``: 10^4.9, default 5) and a six-hour span 120 (``attention``: 10^4.1,
default 4). Persistence (2 of 3 evaluations) removes most chance hits.

The span is judged against the history *before* it (a window joins the baseline when it
leaves the span), so a burst cannot teach the baseline its own first hour.

Warm (hysteresis) is the same test at half the surprise and half ``min_negative``.
Hot windows enter the baseline with a quarter of the normal weight, as in the share test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import betainc, gammainc

from foundation.settings import RuleSettings

# The widest predictive allowed: a negative binomial of shape 1 (geometric). A quiet scope's
# observed variance comes from a handful of past bursts; taken at face value it would give
# shapes far below 1 (tails so heavy that no burst is ever surprising).
MIN_SHAPE = 1.0
# Surprise reported when the tail is below floating point (p < 1e-300).
MAX_SURPRISE = 300.0
COUNT_KINDS = ("negative_count", "attention", "story")


def tail_surprise(k: float, mean: float, var: float) -> float:
    """``-log10 P(K >= k)`` for a count with this mean and variance: Poisson when the
    variance is not above the mean, otherwise the negative binomial of that mean and
    variance. 0 when ``k`` is at or below the mean (no surprise)."""
    if k <= 0 or k <= mean:
        return 0.0
    mean = max(mean, 1e-12)
    if var <= mean * (1.0 + 1e-9):
        p = float(gammainc(k, mean))  # P(Poisson(mean) >= k), k integer
    else:
        r = mean * mean / (var - mean)
        q = mean / var  # success probability
        # P(NB >= k) = I_{1-q}(k, r), the regularised incomplete beta function.
        p = float(betainc(k, r, 1.0 - q))
    if p <= 0.0:
        return MAX_SURPRISE
    return min(MAX_SURPRISE, -math.log10(p))


@dataclass(slots=True)
class RateState:
    """Exponentially weighted sums of one scope: exposure (windows), documents, negatives,
    and the EW mean/variance of the span's document and negative counts."""

    exposure: float = 0.0
    count: float = 0.0
    negative: float = 0.0
    span_mean_n: float = 0.0
    span_var_n: float = 0.0
    span_mean_k: float = 0.0
    span_var_k: float = 0.0
    spans: int = 0

    def rates(
        self, rule: RuleSettings, windows_per_day: float, age: int
    ) -> tuple[float, float, float, float, float]:
        """(document rate, its variance, negative rate, its variance, negative share) per
        window, from the Gamma posterior of the prior and the data after ``age`` windows."""
        prior_e = rule.prior_days * windows_per_day
        prior_n = rule.prior_rate_per_day * rule.prior_days
        # The prior is forgotten over its own length (half-life = prior_days), and floors
        # the shapes (see the module docstring).
        w = 0.5 ** (age / prior_e)
        e = max(self.exposure + prior_e * w, 1e-9)
        a_n = max(self.count + prior_n * w, prior_n)
        a_k = max(self.negative + prior_n * rule.prior_share * w, prior_n * rule.prior_share)
        return a_n / e, a_n / (e * e), a_k / e, a_k / (e * e), a_k / a_n

    def update(
        self, count: int, negative: int, n_span: int | None, k_span: int | None, alpha: float
    ) -> None:
        """Fold in one window (``count``, ``negative``) and, when given, one span's sums."""
        decay = 1.0 - alpha
        self.exposure = decay * self.exposure + 1.0
        self.count = decay * self.count + count
        self.negative = decay * self.negative + negative
        if n_span is None or k_span is None:
            return
        if self.spans == 0:
            self.span_mean_n, self.span_mean_k = float(n_span), float(k_span)
        else:
            d = n_span - self.span_mean_n
            self.span_mean_n += alpha * d
            self.span_var_n = decay * (self.span_var_n + alpha * d * d)
            d = k_span - self.span_mean_k
            self.span_mean_k += alpha * d
            self.span_var_k = decay * (self.span_var_k + alpha * d * d)
        self.spans += 1

    def to_list(self) -> list[float]:
        return [
            self.exposure,
            self.count,
            self.negative,
            self.span_mean_n,
            self.span_var_n,
            self.span_mean_k,
            self.span_var_k,
            self.spans,
        ]

    @classmethod
    def from_list(cls, v: list[float]) -> RateState:
        f = [float(x) for x in v[:7]]
        return cls(f[0], f[1], f[2], f[3], f[4], f[5], f[6], spans=int(v[7]))


def predictive(rate: float, rate_var: float, span_var: float, span: int) -> tuple[float, float]:
    """Mean and variance of a span's count: Gamma-Poisson, widened to the observed variance,
    at most to a negative binomial of shape ``MIN_SHAPE`` (see the module docstring)."""
    mean = rate * span
    widest = mean + mean * mean / MIN_SHAPE
    return mean, max(mean + span * span * rate_var, min(span_var, widest))


def assess_counts(
    rule: RuleSettings,
    state: RateState,
    n: int,
    k: int,
    span: int,
    windows_per_day: float = 288.0,
    age: int = 0,
) -> tuple[bool, bool, dict[str, float]]:
    """(hot, warm, figures) of a span with ``n`` documents, ``k`` negative, for a scope
    ``age`` windows old (pure)."""
    rate_n, var_n, rate_k, var_k, base_share = state.rates(rule, windows_per_day, age)
    mean_k, v_k = predictive(rate_k, var_k, state.span_var_k, span)
    figures: dict[str, float] = {
        "count": float(n),
        "negative": float(k),
        "negative_share": round(k / n, 6) if n else 0.0,
        "baseline_share": round(base_share, 6),
        "expected_negative": round(mean_k, 6),
        "baseline_volume": round(rate_n, 6),
        "span_windows": float(span),
    }
    half = rule.surprise / 2
    if rule.kind == "story":
        # A story scope counts distinct outlets of an adverse event (monitor/core/stories.py):
        # the cue is the negative evidence, so only the outlet count and its surprise matter.
        mean_n, v_n = predictive(rate_n, var_n, state.span_var_n, span)
        s = tail_surprise(n, mean_n, v_n)
        figures["expected_count"] = round(mean_n, 6)
        figures["attention_surprise"] = round(s, 6)
        figures["negative_surprise"] = 0.0
        hot = s >= rule.surprise and n >= rule.min_count and k >= rule.min_negative
        warm = s >= half and n >= rule.min_count / 2 and k >= rule.min_negative / 2
        return hot, warm or hot, figures
    if rule.kind == "attention":
        mean_n, v_n = predictive(rate_n, var_n, state.span_var_n, span)
        s = tail_surprise(n, mean_n, v_n)
        figures["expected_count"] = round(mean_n, 6)
        figures["attention_surprise"] = round(s, 6)
        # Negative evidence: the negatives rose too, at a lower bar than the volume.
        s_k = tail_surprise(k, mean_k, v_k)
        figures["negative_surprise"] = round(s_k, 6)
        evidence = k >= rule.min_negative and s_k >= rule.evidence_surprise
        hot = s >= rule.surprise and evidence
        warm = s >= half and k >= rule.min_negative / 2 and s_k >= rule.evidence_surprise / 2
        return hot, warm or hot, figures
    s = tail_surprise(k, mean_k, v_k)
    figures["negative_surprise"] = round(s, 6)
    hot = s >= rule.surprise and k >= rule.min_negative
    warm = s >= half and k >= rule.min_negative / 2
    return hot, warm or hot, figures
