"""The shipped model reproduces the dev figures written in its card (a broken checkpoint fails).

Scores the full dev sets (1,193 sentiment + 2,054 topic tweets, 461 news headlines): about a
minute on a 2-core CPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.registry import SHIPPED_MODEL

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TOLERANCE = 0.005  # fp16-stored layers vs the fp32 weights that were scored in training

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def shipped():
    from models.classifier import TransformerClassifier

    return TransformerClassifier.load(SHIPPED_MODEL, device="cpu")


@pytest.mark.parametrize(
    ("dev_set", "task"), [("sentiment", "sentiment"), ("topic", "topic"), ("news", "sentiment")]
)
def test_shipped_model_matches_its_card_on_dev(shipped, dev_set, task):
    dev = SHARED / "data" / dev_set / "dev.csv"
    if not dev.is_file():
        pytest.skip(f"shared data not found at {dev} (../shared beside the repository)")
    from models.evaluate import evaluate_classifier

    card = json.loads((SHIPPED_MODEL / "card.json").read_text(encoding="utf-8"))
    want = card["dev_metrics"][dev_set]
    got = evaluate_classifier(shipped, task, dev)
    assert got["n"] == want["n"]
    assert got["accuracy"] == pytest.approx(want["accuracy"], abs=TOLERANCE)
    assert got["macro_f1"] == pytest.approx(want["macro_f1"], abs=TOLERANCE)


def test_shipped_model_is_small_and_pinned_to_its_base_encoder():
    from models.encoder import resolve_encoder

    size = sum(p.stat().st_size for p in SHIPPED_MODEL.iterdir())
    assert size < 25_000_000
    config = json.loads((SHIPPED_MODEL / "config.json").read_text(encoding="utf-8"))
    ref = resolve_encoder(config["base_encoder"]["name"])
    assert ref.sha256 == config["base_encoder"]["sha256"]


def test_default_settings_load_the_shipped_model():
    from foundation.settings import ModelSettings
    from models.classifier import TransformerClassifier
    from models.registry import load_classifier

    clf = load_classifier(ModelSettings(device="cpu"))
    assert isinstance(clf, TransformerClassifier)
    [p] = clf.predict(["Silicon Valley Bank shares plunge 60% as depositors pull cash"])
    assert p.sentiment == "negative"


@pytest.mark.parametrize(
    ("headline", "decisive"),
    [
        # one word carries the sentiment; the rest is names, numbers and function words
        ("Harwell Bank collapses in the third quarter", "collapses"),
        ("Ostrander Foods profit soars in the third quarter", "soars"),
        ("Calvert Motors shares plunge on Tuesday", "plunge"),
        ("Denholm Insurance fined $40 million", "fined"),
    ],
)
def test_explanations_put_the_decisive_word_first(shipped, headline, decisive):
    from models.explain import explain

    ex = explain(shipped, headline)
    assert sum(abs(w) for w in ex.weights) == pytest.approx(1.0, abs=1e-3)
    top = ex.words[max(range(len(ex.words)), key=ex.weights.__getitem__)]
    assert top == decisive, list(zip(ex.words, ex.weights, strict=True))
