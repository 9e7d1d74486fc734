"""Explanations on demand: the classifier is loaded the first time one is asked for, then kept.

Loading the model costs seconds and memory, so a dashboard that nobody asks "why?" never
loads it.
"""

from __future__ import annotations

import logging
import threading

from foundation.settings import ModelSettings
from models.base import TextClassifier
from models.explain import Explanation, explain

log = logging.getLogger(__name__)


class Explainer:
    def __init__(self, model: ModelSettings, classifier: TextClassifier | None = None) -> None:
        self._model = model
        self._classifier = classifier
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._classifier is not None

    def classifier(self) -> TextClassifier:
        with self._lock:
            if self._classifier is None:
                from models.registry import load_classifier

                log.info("loading the classifier for explanations")
                self._classifier = load_classifier(self._model)
            return self._classifier

    def explain(self, text: str, target: str | None = None) -> Explanation:
        clf = self.classifier()
        # One occlusion pass at a time: the model is shared and not assumed thread-safe.
        with self._lock:
            return explain(clf, text, target)
