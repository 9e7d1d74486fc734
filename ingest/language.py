"""A small, fast language guesser for headlines: stopword profiles plus diacritics (pure).

Covers en, pl, de, fr, es, it, pt, nl. Each word that is a stopword of a language scores one
point for it (a word shared by several languages scores for each), and each letter that only
some languages use (``ł``, ``ß``, ``ñ``, ``ã`` ...) adds weight for them. The best score wins
when it beats the runner-up. With no evidence at all, mostly-ASCII text (90% of its letters)
is taken as English (most finance headlines without a single stopword, "Tesla Q3 deliveries
beat", are English) and anything else is None (unknown). The feed's own language tag always
wins over this guess (:mod:`ingest.normalize`); accuracy on the replay archive's labels is
in docs/ingest.md.
"""

from __future__ import annotations

import re

_STOPWORDS: dict[str, str] = {
    "en": (
        "the of and to in is for on that with as at by from are was were be been has have had "
        "it its this these those an or not but will would can could should after over into "
        "about than more says said new how why what who when where which their they he she "
        "his her we you your our us up out off amid just all most no yes do does did being "
        "there here while after before against says may might must if so"
    ),
    "pl": (
        "i w na z do nie się to jest że o jak po za od dla co ale przez czy przy tak już "
        "jego jej ich są być był była było który która które tylko może pod bez nad oraz "
        "także też gdy jeszcze ze we ku u tego tej tym tych sobie będzie lub mln mld zł "
        "według został została wśród podczas roku ws dziś"
    ),
    "de": (
        "der die das und ist nicht mit den von zu im ein eine einer eines dem des auf für "
        "sich auch es bei nach wie aus hat wird werden sind war noch nur um vor über durch "
        "gegen unter oder aber wenn doch schon kein keine mehr zum zur am ab dass sie er "
        "wir ihr uns"
    ),
    "fr": (
        "le la les de des du un une et est en dans que qui pour pas sur au aux avec ce cette "
        "ces il elle ils sont par plus ne se son sa ses mais ou où été être fait comme après "
        "selon chez entre sans sous lors leur leurs nous vous"
    ),
    "es": (
        "el la los las de del y en que es un una por con para no se su sus al lo como más "
        "pero ha han fue son está están este esta estos sobre entre tras desde hasta según "
        "muy ya también sin porque cuando donde"
    ),
    "it": (
        "il lo la gli le di del della dei delle e è un una per con non che si da dal dalla "
        "al alla nel nella sono come più ma anche questo questa ha hanno era tra fra dopo "
        "secondo suo sua loro già ancora sul sulla"
    ),
    "pt": (
        "o os as de do da dos das e é um uma em no na nos nas que para por com não se ao "
        "aos pela pelo mais como mas foi são está tem seu sua após entre sobre também até "
        "já ser quando"
    ),
    "nl": (
        "de het een en van in is op te dat die voor met zijn niet aan er om ook als bij "
        "naar uit maar dan nog wordt worden werd door over tegen na tot deze dit kan wel "
        "geen meer zo hun ze we jij wij"
    ),
}
STOPWORDS: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in _STOPWORDS.items()}
LANGUAGES = tuple(STOPWORDS)
_WORD_LANGS: dict[str, tuple[str, ...]] = {}
for _lang, _words in STOPWORDS.items():
    for _w in _words:
        _WORD_LANGS[_w] = (*_WORD_LANGS.get(_w, ()), _lang)

# Letters that point at a language (weight per occurrence, capped per text below).
_LETTERS: dict[str, dict[str, float]] = {
    "ą": {"pl": 2},
    "ę": {"pl": 2},
    "ł": {"pl": 2},
    "ś": {"pl": 2},
    "ź": {"pl": 2},
    "ż": {"pl": 2},
    "ć": {"pl": 2},
    "ń": {"pl": 2},
    "ß": {"de": 2},
    "ä": {"de": 1.5},
    "ö": {"de": 1, "nl": 0.3},
    "ü": {"de": 1.5},
    "ñ": {"es": 2},
    "¿": {"es": 2},
    "¡": {"es": 2},
    "ã": {"pt": 2},
    "õ": {"pt": 2},
    "ç": {"fr": 1, "pt": 1},
    "œ": {"fr": 2},
    "è": {"fr": 1, "it": 1},
    "ê": {"fr": 1, "pt": 0.7},
    "â": {"fr": 0.7, "pt": 0.7},
    "î": {"fr": 1},
    "û": {"fr": 1},
    "ë": {"fr": 0.5, "nl": 1},
    "ï": {"fr": 0.5, "nl": 0.5},
    "ì": {"it": 1.5},
    "ò": {"it": 1.5},
    "ù": {"it": 1, "fr": 0.5},
    "à": {"fr": 0.7, "it": 0.7, "pt": 0.3},
    "í": {"es": 0.7, "pt": 0.5},
    "ú": {"es": 0.7, "pt": 0.5},
    "á": {"es": 0.7, "pt": 0.7},
    "ó": {"pl": 1, "es": 0.7, "pt": 0.5},
    "é": {"fr": 1, "es": 0.5, "pt": 0.5, "it": 0.3},
}
_LETTER_SET = frozenset(_LETTERS)
_URL_RE = re.compile(r"\S+://\S+|www\.\S+|\S+@\S+\.\w+")
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
MIN_MARGIN = 0.5


def language_scores(text: str) -> dict[str, float]:
    """Evidence per language (stopword hits + weighted letters); empty when there is none."""
    scores: dict[str, float] = {}
    lower = _URL_RE.sub(" ", text.lower())
    for word in _WORD_RE.findall(lower):
        # One-letter words ("w", "z", "e", "o") are frequent but also appear as labels,
        # initials and list markers: half weight.
        langs = _WORD_LANGS.get(word)
        if langs:
            weight = 0.5 if len(word) == 1 else 1.0
            for lang in langs:
                scores[lang] = scores.get(lang, 0.0) + weight
    letters = _LETTER_SET.intersection(lower)
    for ch in letters:
        # Capped at 3 occurrences so one long accented name cannot outvote the stopwords.
        n = min(lower.count(ch), 3)
        for lang, w in _LETTERS[ch].items():
            scores[lang] = scores.get(lang, 0.0) + w * n
    return scores


def detect_language(text: str) -> str | None:
    """Best guess among :data:`LANGUAGES`, ``"en"`` for evidence-free ASCII, else None."""
    if not text or not text.strip():
        return None
    scores = language_scores(text)
    if not scores:
        letters = [c for c in text if c.isalpha()]
        if letters and sum(c.isascii() for c in letters) >= 0.9 * len(letters):
            return "en"
        return None
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top - second >= MIN_MARGIN:
        return best
    # A tie: English wins ties among ASCII text (shared words like "a", "in", "de" are
    # common in English finance copy); otherwise the first-ranked stays, deterministically.
    tied = sorted(lang for lang, s in ranked if top - s < MIN_MARGIN)
    if "en" in tied and text.isascii():
        return "en"
    return tied[0]
