"""Knowledge distillation: a teacher's soft targets on unlabelled text, and the loss on them.

A teacher is one or more finpulse model folders (a bigger model, or an ensemble of the current
model and one fine-tuned on analysts' corrections); their probabilities are averaged per head.
The student learns both heads' distributions on text nobody labelled (e.g. news titles), which
carries the teacher's reading of headlines into the small shipped model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from foundation.errors import ModelError
from models.data import sha256_file


@dataclass
class SoftTargets:
    texts: list[str]
    probs: dict[str, torch.Tensor]  # task -> (n, classes), rows sum to 1
    files: list[dict[str, Any]]  # for the card: teachers and the unlabelled file


def read_unlabelled(path: str | Path, limit: int = 0) -> list[str]:
    """One text a line (blank lines skipped, repeats dropped, first ``limit`` kept if > 0)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"--unlabelled {path}: file not found (one text a line)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ModelError(f"--unlabelled {path}: not UTF-8 ({exc})") from None
    seen: set[str] = set()
    texts = []
    for line in lines:
        text = line.strip()
        if text and text not in seen:
            seen.add(text)
            texts.append(text)
            if limit and len(texts) >= limit:
                break
    if not texts:
        raise ModelError(f"--unlabelled {path}: no texts")
    return texts


def sharpen(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Probabilities at another softmax temperature (p ** (1/T), renormalised)."""
    if temperature == 1.0:
        return probs
    logp = torch.log(probs.clamp_min(1e-12)) / temperature
    return torch.softmax(logp, dim=-1)


def teacher_targets(
    teachers: Sequence[str],
    texts: list[str],
    *,
    device: str = "cpu",
    temperature: float = 1.0,
) -> dict[str, torch.Tensor]:
    """The teachers' averaged probabilities per head for ``texts`` (at ``temperature``)."""
    from models.classifier import TransformerClassifier

    if not teachers:
        raise ModelError("distillation needs at least one --teacher model folder")
    total: dict[str, torch.Tensor] = {}
    for folder in teachers:
        clf = TransformerClassifier.load(folder, device=device)
        probs = clf.probabilities(texts)
        for task, rows in probs.items():
            t = torch.tensor(rows, dtype=torch.float32)
            total[task] = total[task] + t if task in total else t
    return {task: sharpen(t / len(teachers), temperature) for task, t in total.items()}


def load_soft_targets(
    teachers: Sequence[str],
    unlabelled: str,
    *,
    limit: int = 0,
    device: str = "cpu",
    temperature: float = 1.0,
) -> SoftTargets:
    texts = read_unlabelled(unlabelled, limit)
    probs = teacher_targets(teachers, texts, device=device, temperature=temperature)
    files: list[dict[str, Any]] = [
        {
            "role": "unlabelled",
            "path": str(unlabelled),
            "rows": len(texts),
            "sha256": sha256_file(unlabelled),
        },
    ]
    for folder in teachers:
        weights = Path(folder) / "model.safetensors"
        files.append(
            {"role": "teacher", "path": str(folder), "rows": 0, "sha256": sha256_file(weights)}
        )
    return SoftTargets(texts, probs, files)


def distill_loss(
    logits: dict[str, torch.Tensor], targets: dict[str, torch.Tensor], temperature: float = 1.0
) -> torch.Tensor:
    """Sum over heads of KL(teacher || student at ``temperature``), scaled by T**2 (Hinton et
    al.) so the gradient size does not depend on the temperature."""
    loss = torch.zeros((), device=next(iter(logits.values())).device)
    for task, target in targets.items():
        logp = F.log_softmax(logits[task].float() / temperature, dim=-1)
        loss = loss + F.kl_div(logp, target.to(logp.device), reduction="batchmean")
    return loss * temperature**2
