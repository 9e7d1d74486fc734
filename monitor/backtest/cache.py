"""Classification cache for the offline backtest: scored results keyed by model identity.

Classifying a month of news with the shipped model takes minutes on a laptop CPU, while
windowing and detection over the scored month take seconds. The cache keeps what the model
said about each document, so re-running detection with other rule settings (or a new ticker
list) re-uses it.

- One file per model identity, ``DIR/<identity>.jsonl``: one JSON object per document with
  its id, the SHA-1 of the text the model read, and the topic/sentiment outputs. A document
  whose text changed (same id, other headline) is a miss, never a stale hit.
- The identity (:func:`model_identity`) is the classifier's name plus a SHA-256 over every file
  of the model folder (weights, config, labels, card) and the inference settings that change
  the numbers (device type, autocast dtype, int8, max_length). The baseline's identity hashes
  its source file. Retraining, re-quantising or moving to a GPU gives a new file.
- Probabilities are stored as JSON floats, which round-trip exactly, so a run served entirely
  from the cache prints byte-identical JSON to the run that filled it.

The cache is an optimisation only: a corrupt line is skipped (and re-classified); deleting the
folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.base import Prediction, TextClassifier

log = logging.getLogger(__name__)


def text_digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _hash_folder(h: Any, folder: Path) -> None:
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode() + b"\0")
            with p.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            h.update(b"\0")


def model_identity(classifier: TextClassifier, folder: Path | None) -> str:
    """``<name>-<sha256 prefix>``: the classifier's name and a digest of what decides its
    outputs (the model folder's files, or the module source for a folder-less classifier,
    plus the inference settings)."""
    h = hashlib.sha256()
    h.update(classifier.name.encode() + b"\0")
    if folder is not None:
        _hash_folder(h, folder)
    else:
        import inspect

        src = inspect.getsourcefile(type(classifier))
        if src:
            h.update(Path(src).read_bytes())
    for attr in ("device", "autocast_dtype", "quantize", "max_length"):
        h.update(f"{attr}={getattr(classifier, attr, None)}\0".encode())
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in classifier.name)
    return f"{safe}-{h.hexdigest()[:16]}"


@dataclass
class ClassificationCache:
    """Scored outputs of one model, loaded from and appended to ``folder/<identity>.jsonl``."""

    folder: Path
    identity: str
    entries: dict[str, tuple[str, Prediction]] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)
    hits: int = 0
    misses: int = 0

    @property
    def path(self) -> Path:
        return self.folder / f"{self.identity}.jsonl"

    @classmethod
    def open(cls, folder: str | Path, identity: str) -> ClassificationCache:
        cache = cls(Path(folder), identity)
        if cache.path.exists():
            bad = 0
            with cache.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        o = json.loads(line)
                        cache.entries[o["id"]] = (
                            o["text"],
                            Prediction(
                                topic=o["topic"],
                                topic_probs=o["topic_probs"],
                                sentiment=o["sentiment"],
                                sentiment_probs=o["sentiment_probs"],
                            ),
                        )
                    except (ValueError, KeyError, TypeError):
                        bad += 1  # e.g. a line cut short by a crash: classified again
            if bad:
                log.warning("backtest cache %s: %d unreadable lines ignored", cache.path, bad)
            log.info("backtest cache %s: %d documents", cache.path, len(cache.entries))
        return cache

    def get(self, doc_id: str, text: str) -> Prediction | None:
        hit = self.entries.get(doc_id)
        if hit is not None and hit[0] == text_digest(text):
            self.hits += 1
            return hit[1]
        self.misses += 1
        return None

    def put(self, doc_id: str, text: str, p: Prediction) -> None:
        digest = text_digest(text)
        self.entries[doc_id] = (digest, p)
        self.pending.append(
            {
                "id": doc_id,
                "text": digest,
                "topic": p.topic,
                "topic_probs": p.topic_probs,
                "sentiment": p.sentiment,
                "sentiment_probs": p.sentiment_probs,
            }
        )

    def flush(self) -> None:
        """Append the new entries (called after every batch, so an interrupted run keeps
        what it classified)."""
        if not self.pending:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for o in self.pending:
                fh.write(json.dumps(o, separators=(",", ":")) + "\n")
        self.pending.clear()
