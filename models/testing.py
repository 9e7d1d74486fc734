"""A tiny, deterministic BERT encoder and data set for fast tests (no downloads).

``make_tiny_encoder(folder)`` writes a Hugging Face folder (config, weights, word-piece
vocabulary) that ``finpulse train --encoder FOLDER`` accepts like any other base encoder;
``make_tiny_data(folder)`` writes sentiment/ and topic/ CSVs in the shared data layout.
"""

from __future__ import annotations

import csv
from pathlib import Path

from models.labels import SENTIMENTS, TOPICS

_WORDS = (
    "shares stock market bank fed rates oil gold ipo dividend earnings profit loss up down "
    "falls rises surges plunges beats misses record weak strong dollar euro court deal ceo "
    "merger inflation jobs election bond yields crypto company product analyst upgrade"
).split()


def make_tiny_encoder(folder: str | Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT with a 60-word vocabulary, randomly initialised from ``seed``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_WORDS, ",", ".", "!", "?"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    return folder


def tiny_rows(task: str, n: int) -> list[tuple[str, str]]:
    """``n`` deterministic (text, label) rows whose words carry the label (learnable)."""
    labels = SENTIMENTS if task == "sentiment" else TOPICS
    cue = {"negative": "plunges loss", "neutral": "company", "positive": "surges profit"}
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        word = cue[label] if task == "sentiment" else _WORDS[(i % len(labels)) * 2 % len(_WORDS)]
        rows.append((f"{word} shares {_WORDS[i % len(_WORDS)]}", label))
    return rows


def write_csv(path: str | Path, rows: list[tuple[str, str]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def make_tiny_data(folder: str | Path, n_train: int = 30, n_dev: int = 20) -> Path:
    folder = Path(folder)
    for task in ("sentiment", "topic"):
        write_csv(folder / task / "train.csv", tiny_rows(task, n_train))
        write_csv(folder / task / "dev.csv", tiny_rows(task, n_dev))
    return folder
