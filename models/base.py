"""The interface every classifier implements (the fine-tuned model, the baseline, test fakes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Prediction:
    topic: str
    topic_probs: dict[str, float]
    sentiment: str
    sentiment_probs: dict[str, float]


@runtime_checkable
class TextClassifier(Protocol):
    """Synchronous, batch-in batch-out; the engine calls it from its own thread."""

    name: str

    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...
