"""The model card: ``card.json`` (the facts) and ``card.md`` (the same facts for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _parent_lines(parent: dict[str, Any]) -> list[str]:
    """How to rebuild the ``--init`` parent: its own commands (oldest first), then this one."""
    chain = []
    node: dict[str, Any] | None = parent
    while node:
        chain.append(node)
        node = node.get("parent")
    out = [
        f"Trained from the model `{parent.get('name')}` in `{parent.get('path')}` "
        f"(`--init`; model.safetensors sha256 `{parent.get('sha256')}`). "
        "Rebuild it first, with each command's `--out` being the next one's `--init` folder:",
        "",
        "```",
    ]
    for node in reversed(chain):
        out.append(node.get("command") or f"(command of {node.get('path')} not recorded)")
    out += ["```", "", "Then:", ""]
    return out


def render_card(card: dict[str, Any]) -> str:
    """Markdown for a card dict (pure)."""
    out = [f"# Model card: {card.get('name', 'finpulse classifier')}", ""]
    base = card.get("base_encoder", {})
    out += [
        "One transformer encoder (mean pooling) with two linear heads: sentiment "
        "(negative, neutral, positive) and topic (20 classes).",
        "",
        f"- base encoder: `{base.get('name')}` (weights sha256 `{base.get('sha256')}`)",
        f"- fine-tuning: {card.get('finetune')} ({card.get('trainable_params', '?')} trainable "
        "parameters)",
        f"- seed: {card.get('seed')}",
        f"- size of the model folder: {card.get('size_bytes', 0) / 1e6:.2f} MB",
        f"- trained on: {card.get('machine', '?')}, {card.get('train_seconds', '?')} s to the "
        "best checkpoint",
        "",
        "## Reproduce",
        "",
    ]
    parent = card.get("parent")
    if parent:
        out += _parent_lines(parent)
    out += [
        "```",
        card.get("command") or "(command not recorded)",
        "```",
        "",
        "## Data",
        "",
    ]
    out += _table(
        ["role", "path", "rows", "sha256"],
        [[d["role"], d["path"], d["rows"], f"`{d['sha256']}`"] for d in card.get("data", [])],
    )
    best = card.get("best")
    if best:
        out += [
            "",
            f"Best checkpoint: step {best['step']} (epoch {best['epoch']}), "
            f"score {best['score']} (mean of the dev macro-F1s).",
        ]
    for task, m in (card.get("dev_metrics") or {}).items():
        out += [
            "",
            f"## Dev metrics: {task}",
            "",
            f"n = {m['n']}, accuracy = {m['accuracy']}, macro-F1 = {m['macro_f1']}",
            "",
        ]
        out += _table(
            ["class", "precision", "recall", "f1", "support"],
            [
                [c, v["precision"], v["recall"], v["f1"], v["support"]]
                for c, v in m["per_class"].items()
            ],
        )
        conf = m.get("confusion")
        if conf:
            labels = conf["labels"]
            out += ["", "Confusion matrix (rows: true, columns: predicted):", ""]
            out += _table(
                ["true \\ pred", *[str(i) for i in range(len(labels))]],
                [
                    [f"{i} {lab}", *row]
                    for i, (lab, row) in enumerate(zip(labels, conf["matrix"], strict=True))
                ],
            )
    speed = card.get("speed")
    if speed:
        out += ["", "## Speed", "", f"Machine: {speed.get('machine', '?')}", ""]
        out += _table(
            ["path", "batch", "texts/s"],
            [[r["path"], r["batch"], r["texts_per_s"]] for r in speed.get("rows", [])],
        )
        if speed.get("note"):
            out += ["", speed["note"]]
    quant = card.get("int8")
    if quant:
        out += ["", "## int8 (dynamic quantisation, CPU)", ""]
        out += [f"- {k}: {v}" for k, v in quant.items()]
    history = card.get("history")
    if history:
        out += ["", "## Training history (dev)", ""]
        keys = [
            "step",
            "epoch",
            "elapsed_s",
            "sentiment_accuracy",
            "sentiment_macro_f1",
            "topic_accuracy",
            "topic_macro_f1",
            "news_accuracy",
            "news_macro_f1",
            "score",
        ]
        keys = [k for k in keys if any(k in h for h in history)]
        out += _table(keys, [[h.get(k, "") for k in keys] for h in history])
    return "\n".join(out) + "\n"


def write_card(folder: str | Path, card: dict[str, Any]) -> None:
    folder = Path(folder)
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (folder / "card.md").write_text(render_card(card), encoding="utf-8")


def read_card(folder: str | Path) -> dict[str, Any]:
    return json.loads((Path(folder) / "card.json").read_text(encoding="utf-8"))
