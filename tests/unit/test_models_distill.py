"""Distillation (teacher soft targets on unlabelled text), --name and the --out guard, with
the tiny deterministic encoder (no downloads)."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from cli.main import main
from foundation.errors import ModelError
from models.classifier import TransformerClassifier
from models.distill import distill_loss, read_unlabelled, sharpen, teacher_targets
from models.testing import make_tiny_data, make_tiny_encoder
from models.train import TrainConfig, train

UNLABELLED = [
    "bank plunges loss",
    "oil surges profit",
    "gold shares up",
    "fed rates down",
    "crypto market falls",
    "company earnings beats",
    "dollar weak euro strong",
    "ipo record deal",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("distill")
    encoder = make_tiny_encoder(root / "encoder")
    data = make_tiny_data(root / "data")
    texts = root / "titles.txt"
    texts.write_text("\n".join(UNLABELLED * 4) + "\n\n", encoding="utf-8")
    teacher = root / "teacher"
    train(_cfg(encoder, data, teacher, finetune="full", lr=5e-3, max_steps=6, seed=1))
    return encoder, data, texts, teacher


def _cfg(encoder, data, out, **kw) -> TrainConfig:
    base = dict(
        data_dir=str(data),
        out=str(out),
        encoder=str(encoder),
        batch_size=8,
        max_steps=2,
        max_length=16,
        seed=3,
        progress=False,
        command="finpulse train (test)",
    )
    base.update(kw)
    return TrainConfig(**base)


def _kl_to_teacher(student, teacher, texts) -> float:
    want = teacher_targets([str(teacher)], texts)
    got = TransformerClassifier.load(student, device="cpu").probabilities(texts)
    total = 0.0
    for task, p in want.items():
        q = torch.tensor(got[task]).clamp_min(1e-12)
        total += float((p * (p.clamp_min(1e-12).log() - q.log())).sum(-1).mean())
    return total


def test_distilled_student_moves_towards_its_teacher(setup, tmp_path):
    encoder, data, texts, teacher = setup
    common = dict(finetune="full", lr=5e-3, max_steps=12, seed=5)
    plain = tmp_path / "plain"
    train(_cfg(encoder, data, plain, **common))
    student = tmp_path / "student"
    card = train(
        _cfg(
            encoder,
            data,
            student,
            teacher=[str(teacher)],
            unlabelled=str(texts),
            distill_weight=5.0,
            name="tiny-distilled",
            **common,
        )
    )
    assert _kl_to_teacher(student, teacher, UNLABELLED) < _kl_to_teacher(plain, teacher, UNLABELLED)
    roles = {d["role"]: d for d in card["data"]}
    assert roles["unlabelled"]["rows"] == len(UNLABELLED)  # repeats and blank lines dropped
    assert roles["teacher"]["path"] == str(teacher)
    assert json.loads((student / "config.json").read_text())["name"] == "tiny-distilled"
    assert TransformerClassifier.load(student, device="cpu").name == "tiny-distilled"


def test_distillation_needs_teacher_and_text(setup, tmp_path):
    encoder, data, texts, _ = setup
    with pytest.raises(ModelError, match="needs both --teacher"):
        train(_cfg(encoder, data, tmp_path / "x", unlabelled=str(texts)))
    with pytest.raises(ModelError, match="file not found"):
        read_unlabelled(tmp_path / "missing.txt")


def test_an_ensemble_teacher_averages_probabilities(setup):
    _, _, _, teacher = setup
    one = teacher_targets([str(teacher)], UNLABELLED)
    two = teacher_targets([str(teacher), str(teacher)], UNLABELLED)
    for task in one:
        assert torch.allclose(one[task], two[task], atol=1e-6)
        assert torch.allclose(one[task].sum(-1), torch.ones(len(UNLABELLED)), atol=1e-5)


def test_distill_loss_is_zero_at_the_teacher_and_temperature_softens():
    logits = {"sentiment": torch.tensor([[2.0, 0.0, -1.0]])}
    same = {"sentiment": torch.softmax(logits["sentiment"], -1)}
    assert float(distill_loss(logits, same)) == pytest.approx(0.0, abs=1e-6)
    other = {"sentiment": torch.tensor([[0.1, 0.1, 0.8]])}
    assert float(distill_loss(logits, other)) > 0.1
    p = torch.tensor([[0.7, 0.2, 0.1]])
    assert float(sharpen(p, 2.0).max()) < 0.7 < float(sharpen(p, 0.5).max())


def test_out_guard_protects_existing_models_and_the_shipped_one(setup, tmp_path):
    encoder, data, _, teacher = setup
    base = ["train", "--data-dir", str(data), "--encoder", str(encoder), "--no-progress"]
    again = CliRunner().invoke(main, [*base, "--out", str(teacher)])
    assert again.exit_code != 0 and "already holds a model; pass --overwrite" in again.output
    shipped = CliRunner().invoke(main, [*base, "--out", "models/weights/default"])
    assert shipped.exit_code != 0 and "is the shipped model; pass --overwrite" in shipped.output
    ok = CliRunner().invoke(
        main,
        [*base, "--out", str(teacher), "--overwrite", "--max-steps", "1", "--batch-size", "8"],
    )
    assert ok.exit_code == 0, ok.output


def test_cli_distillation_options_reach_the_card(setup, tmp_path):
    encoder, data, texts, teacher = setup
    out = tmp_path / "cli"
    args = ["train", "--data-dir", str(data), "--encoder", str(encoder), "--out", str(out)]
    args += ["--teacher", str(teacher), "--unlabelled", str(texts), "--name", "cli-distilled"]
    args += ["--max-steps", "2", "--batch-size", "8", "--max-length", "16", "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    card = json.loads((out / "card.json").read_text())
    assert card["name"] == "cli-distilled" and f"--teacher {teacher}" in card["command"]
    assert card["config"]["unlabelled"] == str(texts)


def test_default_out_is_runs_name(setup, tmp_path, monkeypatch):
    encoder, data, _, _ = setup
    monkeypatch.chdir(tmp_path)
    card = train(_cfg(encoder, data, "", name="mine", max_steps=1))
    assert card["name"] == "mine"
    assert (tmp_path / "runs" / "mine" / "model.safetensors").is_file()
