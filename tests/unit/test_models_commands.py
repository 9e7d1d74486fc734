"""finpulse train / evaluate / classify through the real click entry point."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from models.testing import make_tiny_data, make_tiny_encoder, write_csv
from monitor.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    encoder = make_tiny_encoder(root / "encoder")
    data = make_tiny_data(root / "data")
    extra = write_csv(root / "corrections.csv", [("bank plunges", "negative")] * 3)
    out = root / "model"
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--data-dir",
            str(data),
            "--encoder",
            str(encoder),
            "--out",
            str(out),
            "--max-steps",
            "2",
            "--batch-size",
            "8",
            "--max-length",
            "16",
            "--lora-r",
            "4",
            "--no-progress",
            "--extra",
            f"sentiment:{extra}",
        ],
    )
    assert result.exit_code == 0, result.output
    return out, data, extra


def test_train_records_extra_data_in_the_card(trained):
    out, _, extra = trained
    card = json.loads((out / "card.json").read_text())
    roles = {(d["role"], d["path"]) for d in card["data"]}
    assert ("extra-train", str(extra)) in roles
    assert card["command"].startswith("finpulse train ") and "--extra" in card["command"]


def test_evaluate_json_shape(trained):
    out, data, _ = trained
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--task",
            "topic",
            "--data",
            str(data / "topic" / "dev.csv"),
            "--model",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout.strip().splitlines()[-1])
    assert obj["task"] == "topic" and obj["n"] == 20
    assert 0 <= obj["accuracy"] <= 1 and 0 <= obj["macro_f1"] <= 1
    assert len(obj["per_class"]) == 20
    assert set(obj["per_class"]["ipo"]) == {"precision", "recall", "f1", "support"}


def test_evaluate_unknown_label_fails_clearly(trained, tmp_path):
    out, _, _ = trained
    bad = write_csv(tmp_path / "bad.csv", [("oil up", "positive"), ("oil down", "bearish")])
    result = CliRunner().invoke(
        main,
        ["evaluate", "--task", "sentiment", "--data", str(bad), "--model", str(out), "--json"],
    )
    assert result.exit_code != 0
    assert "bad.csv:3: unknown label 'bearish'" in result.output


def test_classify_arguments_and_stdin(trained):
    out, _, _ = trained
    r1 = CliRunner().invoke(main, ["classify", "--model", str(out), "bank plunges", "oil"])
    assert r1.exit_code == 0, r1.output
    rows = [json.loads(x) for x in r1.stdout.strip().splitlines()]
    assert [r["text"] for r in rows] == ["bank plunges", "oil"]
    assert {"topic", "sentiment", "sentiment_probs", "topic_probs"} <= set(rows[0])
    stdin = '{"id": "a1", "text": "gold rises"}\n\n{"id": "a2", "text": "fed rates"}\n'
    r2 = CliRunner().invoke(main, ["classify", "--model", str(out)], input=stdin)
    assert r2.exit_code == 0, r2.output
    assert [json.loads(x)["id"] for x in r2.stdout.strip().splitlines()] == ["a1", "a2"]
    r3 = CliRunner().invoke(main, ["classify", "--model", str(out)], input='{"txt": 1}\n')
    assert r3.exit_code != 0 and 'stdin line 1: expected an object with a "text"' in r3.output


def test_classify_explain_adds_word_weights(trained):
    out, _, _ = trained
    r = CliRunner().invoke(main, ["classify", "--model", str(out), "--explain", "bank plunges"])
    assert r.exit_code == 0, r.output
    ex = json.loads(r.stdout.strip())["explanation"]
    assert ex["words"] == ["bank", "plunges"] and len(ex["weights"]) == 2
