"""Why a text got its sentiment: word-level occlusion attributions.

For each word, the attribution is how much the probability of the target sentiment drops when
that word is removed: ``p(target | text) - p(target | text without word)``. Occlusion was chosen
over integrated gradients because it (1) works with any classifier behind the TextClassifier
interface, including the int8-quantised path and the baseline, which expose no gradients;
(2) attributes whole words, which is what an analyst reads on the dashboard, not sub-word
pieces; (3) is faithful by construction (it is the model's own output on edited inputs) and
costs one batched forward pass of ``n + 1`` short texts for an n-word headline.

Two adjustments make explanations comparable and readable:

- **One scale.** The weights of one explanation are divided by their sum of absolute values
  (so ``sum(|w|) == 1`` whenever any word mattered): a weight is the word's share of the
  evidence, comparable across texts and models whatever the raw probability shifts were.
- **Stop words carry no weight.** Deleting a function word ("the", "of", "to", "as") breaks
  the grammar of the sentence, and the model's reaction to broken grammar was often larger
  than to the word that decides the sentiment; such a word is not occluded and gets 0.
  Negations ("not", "no", "without") are not stop words: they flip meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.base import TextClassifier

MAX_WORDS = 64  # longer texts: only the first MAX_WORDS words are attributed

STOP_WORDS = frozenset(
    """a an the of to in on at by for from with as and or but if than then so into onto over
    under about after before since while its it it's this that these those is are was were be
    been being has have had do does did will would shall should can could may might must i we
    you he she they them his her their our your my me us who whom which what when where there
    here also just up amid via per vs""".split()
)
_STRIP = ".,;:!?\"'()[]{}«»“”‘’-–—…"


def is_stop_word(word: str) -> bool:
    return word.strip(_STRIP).lower() in STOP_WORDS


@dataclass(frozen=True, slots=True)
class Explanation:
    label: str
    probability: float
    words: list[str]
    # Positive: the word pushed towards ``label``; negative: against it. Normalised so that
    # sum(|w|) == 1 (all zeros when no word changed the probability); stop words get 0.
    weights: list[float]


def explain(classifier: TextClassifier, text: str, target: str | None = None) -> Explanation:
    """Attribute ``classifier``'s sentiment for ``text`` (or for ``target``) to its words."""
    words = text.split()
    if not words:
        pred = classifier.predict([text])[0]
        label = target or pred.sentiment
        return Explanation(label, float(pred.sentiment_probs.get(label, 0.0)), [], [])
    scored = [i for i, w in enumerate(words[:MAX_WORDS]) if not is_stop_word(w)]
    variants = [text] + [" ".join(words[:i] + words[i + 1 :]) for i in scored]
    preds = classifier.predict(variants)
    label = target or preds[0].sentiment
    if label not in preds[0].sentiment_probs:
        raise ValueError(f"unknown sentiment label {label!r}")
    base = float(preds[0].sentiment_probs[label])
    raw = [0.0] * len(words)
    for i, p in zip(scored, preds[1:], strict=True):
        raw[i] = base - float(p.sentiment_probs[label])
    return Explanation(label=label, probability=base, words=words, weights=normalise(raw))


def normalise(raw: list[float]) -> list[float]:
    """``raw / sum(|raw|)``, rounded; all zeros stay zeros."""
    total = sum(abs(w) for w in raw)
    if total <= 1e-9:
        return [0.0] * len(raw)
    return [round(w / total, 6) for w in raw]
