"""finpulse train / evaluate / classify through the real click entry point."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import main
from models.data import sha256_file
from models.testing import make_tiny_data, make_tiny_encoder, write_csv


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


def _train_from(parent, data, out, *more):
    args = ["train", "--data-dir", str(data), "--out", str(out), "--init", str(parent)]
    args += ["--finetune", "full", "--max-steps", "1", "--batch-size", "8", "--max-length", "16"]
    return CliRunner().invoke(main, [*args, "--no-progress", *more])


def test_train_init_continues_from_a_model_folder_and_records_the_parent(trained, tmp_path):
    lora_parent, data, _ = trained
    parent_card = json.loads((lora_parent / "card.json").read_text())
    child, grandchild = tmp_path / "child", tmp_path / "grandchild"
    # A LoRA parent (adapters merged in) continued as a full fine-tune, then continued again.
    assert _train_from(lora_parent, data, child).exit_code == 0
    result = _train_from(child, data, grandchild, "--extra", f"sentiment:{trained[2]}")
    assert result.exit_code == 0, result.output
    card = json.loads((child / "card.json").read_text())
    # Step 0 scores the weights as loaded: exactly the parent's best checkpoint.
    step0 = card["history"][0]
    assert step0["step"] == 0
    assert {k: step0[k] for k in step0 if "_" in k and k != "elapsed_s"} == {
        k: v for k, v in parent_card["best"].items() if "_" in k and k != "elapsed_s"
    }
    parent = card["parent"]
    assert parent["path"] == str(lora_parent) and parent["name"] == parent_card["name"]
    assert parent["sha256"] == sha256_file(lora_parent / "model.safetensors")
    assert parent["command"] == parent_card["command"] and "--init" not in parent["command"]
    assert f"--init {child}" in json.loads((grandchild / "card.json").read_text())["command"]
    # The grandchild's card gives the whole chain of commands, oldest first.
    md = (grandchild / "card.md").read_text()
    first, second = md.index(parent_card["command"]), md.index(card["command"])
    assert first < second < md.index(f"--init {child}")


def test_train_init_refuses_another_base_encoder_and_lora(trained, tmp_path):
    parent, data, _ = trained
    other = make_tiny_encoder(tmp_path / "other", seed=1)
    wrong = _train_from(parent, data, tmp_path / "a", "--encoder", str(other))
    assert wrong.exit_code != 0
    assert "the parent was trained on base encoder" in wrong.output
    lora = CliRunner().invoke(
        main,
        ["train", "--data-dir", str(data), "--init", str(parent), "--out", str(tmp_path / "b")],
    )
    assert lora.exit_code != 0 and "needs --finetune full" in lora.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
