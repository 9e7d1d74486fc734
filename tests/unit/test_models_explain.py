"""Occlusion explanations: the word that drives the score gets the largest weight."""

from __future__ import annotations

import pytest

from models.baseline import LexiconBaseline
from models.explain import MAX_WORDS, explain, is_stop_word


def test_negative_word_drives_negative_label():
    ex = explain(LexiconBaseline(), "Crypto exchange FTX collapses overnight")
    assert ex.label == "negative"
    assert len(ex.words) == len(ex.weights) == 5
    top = ex.words[max(range(len(ex.weights)), key=ex.weights.__getitem__)]
    assert top == "collapses"
    assert ex.weights[ex.words.index("exchange")] == 0.0


def test_explicit_target_and_empty_text():
    ex = explain(LexiconBaseline(), "Shares surge after record profit", target="negative")
    assert ex.label == "negative"
    assert min(ex.weights) < 0  # positive words pull away from negative
    empty = explain(LexiconBaseline(), "   ")
    assert empty.words == [] and empty.weights == []


def test_long_text_is_capped_but_keeps_every_word():
    text = " ".join(["crash"] + ["word"] * (MAX_WORDS + 10))
    ex = explain(LexiconBaseline(), text)
    assert len(ex.words) == len(ex.weights) == MAX_WORDS + 11
    assert ex.weights[-1] == 0.0


def test_weights_are_on_one_scale():
    for text in ("Shares surge after record profit", "Bank collapses as depositors flee"):
        ex = explain(LexiconBaseline(), text)
        assert sum(abs(w) for w in ex.weights) == pytest.approx(1.0, abs=1e-4)


def test_stop_words_get_no_weight_but_negations_do_count():
    ex = explain(LexiconBaseline(), "The bank of the year is not in crisis")
    for word in ("The", "of", "the", "is", "in"):
        assert ex.weights[ex.words.index(word)] == 0.0
    assert not is_stop_word("not") and not is_stop_word("without")
    assert is_stop_word("The,")
