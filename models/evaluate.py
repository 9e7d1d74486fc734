"""Classification metrics (pure) and evaluating a classifier on a labelled CSV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from foundation.errors import ModelError
from models.base import TextClassifier
from models.data import read_labelled_csv
from models.labels import TASKS


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n: int) -> list[list[int]]:
    """rows = true label, columns = predicted label."""
    m = [[0] * n for _ in range(n)]
    for t, p in zip(y_true, y_pred, strict=True):
        m[t][p] += 1
    return m


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]
) -> dict[str, Any]:
    """accuracy, macro-F1 (mean over all classes), per-class precision/recall/F1/support,
    and the confusion matrix. A class with no predictions has precision 0."""
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    n = len(labels)
    cm = confusion_matrix(y_true, y_pred, n)
    per_class: dict[str, dict[str, float | int]] = {}
    f1s = []
    for i, name in enumerate(labels):
        tp = cm[i][i]
        support = sum(cm[i])
        predicted = sum(cm[r][i] for r in range(n))
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        per_class[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    total = len(y_true)
    correct = sum(cm[i][i] for i in range(n))
    return {
        "n": total,
        "accuracy": round(correct / total, 4) if total else 0.0,
        "macro_f1": round(sum(f1s) / n, 4) if n else 0.0,
        "per_class": per_class,
        "confusion": {"labels": list(labels), "matrix": cm},
    }


def evaluate_classifier(
    classifier: TextClassifier, task: str, data: str | Path, batch_size: int = 256
) -> dict[str, Any]:
    """Metrics of ``classifier`` on the ``task`` head over a ``text,label`` CSV."""
    if task not in TASKS:
        raise ModelError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    labels = TASKS[task]
    rows = read_labelled_csv(data, labels)
    index = {name: i for i, name in enumerate(labels)}
    preds: list[int] = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        for p in classifier.predict([r.text for r in batch]):
            preds.append(index[p.sentiment if task == "sentiment" else p.topic])
    metrics = classification_metrics([r.label for r in rows], preds, labels)
    return {"task": task, "data": str(data), "model": classifier.name, **metrics}
