"""A lexicon baseline classifier: no training, no torch. It is NOT the model.

Used when the model is explicitly set to ``baseline`` (fast smoke runs) and as a fallback the
logs name plainly. Sentiment from a small finance word list; topic from keyword rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from models.base import Prediction
from models.labels import SENTIMENTS, TOPICS

_NEG = set(
    "bankrupt bankruptcy collapse collapses collapsed crash crashes plunge plunges plunged "
    "fall falls fell drop drops dropped loss losses lawsuit fraud probe halt halts default "
    "downgrade downgrades downgraded cut cuts slump slumps tumble tumbles sink sinks sank "
    "miss misses missed layoffs layoff fears fear warns warning recession selloff sell-off "
    "insolvent insolvency freeze freezes frozen scandal contagion liquidation crisis weak".split()
)
_POS = set(
    "surge surges surged soar soars soared jump jumps jumped rally rallies gain gains gained "
    "beat beats upgrade upgrades upgraded record rises rise rose growth profit strong bullish "
    "raises raised boost boosts tops outperform buy higher".split()
)
_TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "fed_central_banks": ("fed", "powell", "ecb", "central bank", "rate hike", "fomc"),
    "earnings": ("earnings", "eps", "revenue", "quarter", "q3", "q4", "guidance"),
    "energy_oil": ("oil", "opec", "crude", "gas", "energy"),
    "financials": ("bank", "crypto", "ftx", "binance", "bitcoin", "lender", "exchange"),
    "currencies": ("dollar", "euro", "yen", "forex", "currency"),
    "legal_regulation": ("sec", "lawsuit", "court", "regulator", "probe", "bankruptcy"),
    "m_and_a_investments": ("acquire", "acquisition", "merger", "deal", "buyout", "stake"),
    "macro": ("inflation", "gdp", "jobs", "cpi", "economy", "recession"),
    "markets": ("stocks", "s&p", "nasdaq", "dow", "market"),
    "politics": ("election", "biden", "trump", "congress", "senate", "war"),
    "ipo": ("ipo", "listing", "debut"),
    "dividend": ("dividend", "payout"),
}
_WORD = re.compile(r"[a-z][a-z\-']+")


def _softmax(xs: Sequence[float]) -> list[float]:
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    s = sum(e)
    return [x / s for x in e]


class LexiconBaseline:
    name = "lexicon-baseline"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> Prediction:
        low = text.lower()
        words = _WORD.findall(low)
        neg = sum(w in _NEG for w in words)
        pos = sum(w in _POS for w in words)
        s_probs = _softmax([1.2 * neg, 0.8, 1.2 * pos])
        t_scores = [
            sum(k in low for k in _TOPIC_WORDS.get(t, ()))
            + (0.5 if t == "general_news_opinion" else 0)
            for t in TOPICS
        ]
        t_probs = _softmax([2.0 * s for s in t_scores])
        sp = dict(zip(SENTIMENTS, s_probs, strict=True))
        tp = dict(zip(TOPICS, t_probs, strict=True))
        return Prediction(
            topic=max(tp, key=tp.__getitem__),
            topic_probs=tp,
            sentiment=max(sp, key=sp.__getitem__),
            sentiment_probs=sp,
        )
