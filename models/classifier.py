"""The fine-tuned classifier: one transformer encoder, mean pooling, a topic and a sentiment head.

A model folder (written by ``finpulse train``) holds:

- ``config.json``: base-encoder reference (name + weights sha256), max_length, pooling, how it
  was fine-tuned (``lora`` or ``full``) and the LoRA shape;
- ``labels.json``: the label names of each head, in id order;
- ``model.safetensors``: the heads, plus either the LoRA adapter matrices (``lora.<module>.A`` /
  ``.B``) or the whole encoder (``encoder.*``) for a full fine-tune;
- ``card.json`` / ``card.md``: the model card.

At load the LoRA update ``scale * B @ A`` is merged into the base encoder's Linear weights, so
inference is a plain BERT forward with no adapter code in the loop.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from foundation.errors import ModelError
from models.base import Prediction
from models.encoder import EncoderRef, load_encoder, resolve_encoder
from models.labels import SENTIMENTS, TASKS, TOPICS

log = logging.getLogger(__name__)

FORMAT = "finpulse-classifier/1"
REQUIRED_FILES = ("config.json", "labels.json", "model.safetensors")
# Texts per forward pass inside predict(); bounds memory for long inputs lists.
PREDICT_CHUNK = 64
_PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.default)?\.weight$")


class MultiTaskNet(nn.Module):
    """Encoder + mean pooling + one linear head per task (``sentiment``, ``topic``)."""

    def __init__(self, encoder: nn.Module, labels: dict[str, Sequence[str]], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({t: nn.Linear(hidden, len(ls)) for t, ls in labels.items()})

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        # Mean over real tokens only (padding masked out), as all-MiniLM-L6-v2 was trained.
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, task: str | None = None
    ) -> dict[str, torch.Tensor]:
        pooled = self.dropout(self.pooled(input_ids, attention_mask))
        tasks = [task] if task is not None else list(self.heads)
        return {t: self.heads[t](pooled) for t in tasks}


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("model.device is 'cuda' but no CUDA GPU is available")
    return torch.device(device)


def pick_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32. Mixed precision is a CUDA-only feature here."""
    if device.type != "cuda":
        if precision in ("fp16", "bf16"):
            log.warning("precision %s is CUDA-only; running fp32 on %s", precision, device)
        return None
    if precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def lora_state_from_peft(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """peft adapter tensors -> ``lora.<module path>.A|B`` (a stable, peft-independent naming)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        m = _PEFT_KEY.match(key)
        if m:
            out[f"lora.{m.group(1)}.{m.group(2)}"] = value.detach().cpu().contiguous()
    return out


def merge_lora(encoder: nn.Module, lora: dict[str, torch.Tensor], scale: float) -> int:
    """Add ``scale * B @ A`` to each adapted Linear's weight; returns how many were merged."""
    modules = dict(encoder.named_modules())
    paths = sorted({k[len("lora.") : -2] for k in lora})
    for path in paths:
        module = modules.get(path)
        if not isinstance(module, nn.Linear):
            raise ModelError(f"LoRA weights for {path!r}, which is not a Linear in the encoder")
        a, b = lora[f"lora.{path}.A"], lora[f"lora.{path}.B"]
        with torch.no_grad():
            module.weight += scale * (b.float() @ a.float()).to(module.weight.dtype)
    return len(paths)


def read_model_config(folder: Path) -> tuple[dict[str, Any], dict[str, list[str]]]:
    if not folder.is_dir():
        raise ModelError(f"model folder not found: {folder}")
    missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise ModelError(
            f"model folder {folder} is incomplete: missing {', '.join(missing)} "
            "(a folder written by `finpulse train` holds config.json, labels.json, "
            "model.safetensors)"
        )
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"model folder {folder}: unreadable config/labels: {exc}") from None
    if config.get("format") != FORMAT:
        raise ModelError(f"{folder}/config.json: format {config.get('format')!r}, want {FORMAT}")
    for task, expected in (("sentiment", SENTIMENTS), ("topic", TOPICS)):
        if tuple(labels.get(task, ())) != expected:
            raise ModelError(
                f"{folder}/labels.json: {task} labels {labels.get(task)} do not match "
                f"finpulse's {list(expected)}"
            )
    return config, labels


def build_net(
    folder: Path, config: dict[str, Any], labels: dict[str, list[str]]
) -> tuple[Any, MultiTaskNet, EncoderRef]:
    """(tokenizer, net with merged weights, encoder ref) from a model folder."""
    from safetensors.torch import load_file

    base = config.get("base_encoder") or {}
    ref = resolve_encoder(base.get("name"))
    if base.get("sha256") and ref.sha256 and base["sha256"] != ref.sha256:
        raise ModelError(
            f"model {folder} was trained on base encoder {ref.name!r} with weights sha256 "
            f"{base['sha256'][:12]}…, but the installed one is {ref.sha256[:12]}…"
        )
    tokenizer, encoder = load_encoder(ref)
    net = MultiTaskNet(encoder, labels)
    state = load_file(str(folder / "model.safetensors"))
    heads = {k[len("heads.") :]: v for k, v in state.items() if k.startswith("heads.")}
    if not heads:
        raise ModelError(f"{folder}/model.safetensors holds no head weights")
    try:
        net.heads.load_state_dict(heads)
    except RuntimeError as exc:
        raise ModelError(f"{folder}/model.safetensors: heads do not fit: {exc}") from None
    if config.get("finetune") == "full":
        enc = {
            k[len("encoder.") :]: v.float() for k, v in state.items() if k.startswith("encoder.")
        }
        if not enc:
            raise ModelError(f"{folder}/model.safetensors: full fine-tune without encoder weights")
        # Parameters not in the file (e.g. frozen embeddings) are the base encoder's own.
        _, unexpected = net.encoder.load_state_dict(enc, strict=False)
        if unexpected:
            raise ModelError(
                f"{folder}/model.safetensors: encoder weights do not fit the base encoder "
                f"({len(unexpected)} unexpected, e.g. {unexpected[0]})"
            )
    else:
        lora = {k: v for k, v in state.items() if k.startswith("lora.")}
        spec = config.get("lora") or {}
        if not lora or not spec.get("r"):
            raise ModelError(f"{folder}: LoRA model without adapter weights or LoRA config")
        merge_lora(net.encoder, lora, float(spec["alpha"]) / float(spec["r"]))
    net.eval()
    return tokenizer, net, ref


def quantize_int8(net: nn.Module, engine: str = "auto") -> Any:
    """Dynamic int8 quantisation of every Linear (weights int8, activations quantised per batch).

    CPU only. The matmuls that dominate a small BERT run in int8, the rest stays fp32.
    ``engine``: ``onnx`` (ONNX Runtime, models/onnx_int8.py: faster and as accurate, measured
    in docs/model.md), ``torch`` (torch.ao, deprecated upstream), ``auto`` (onnx when
    onnxruntime is installed, else torch with a warning).
    """
    from models import onnx_int8

    if engine not in ("auto", "onnx", "torch"):
        raise ModelError(f"int8 engine must be auto, onnx or torch, not {engine!r}")
    if engine == "onnx" or (engine == "auto" and onnx_int8.available()):
        if not onnx_int8.available():
            raise ModelError("int8 engine 'onnx' needs onnxruntime: pip install 'finpulse[onnx]'")
        heads = getattr(net, "heads", None)
        return onnx_int8.onnx_int8(net, list(heads) if heads is not None else list(TASKS))
    if engine == "auto":
        log.warning("onnxruntime is not installed: int8 through torch.ao (slower, deprecated)")
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)


class TransformerClassifier:
    """The TextClassifier of the fine-tuned model (see models/base.py)."""

    def __init__(
        self,
        net: MultiTaskNet,
        tokenizer: Any,
        *,
        max_length: int = 64,
        device: str = "auto",
        precision: str = "auto",
        quantize: str = "none",
        name: str = "finpulse-minilm",
        int8_engine: str = "auto",
    ):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = pick_device(device)
        self.autocast_dtype = pick_dtype(self.device, precision)
        self.quantize = quantize
        net.eval()
        if quantize == "int8":
            if self.device.type != "cpu":
                raise ModelError("model.quantize='int8' is a CPU path; set model.device to cpu")
            net = quantize_int8(net, int8_engine)  # type: ignore[assignment]
        self.net = net.to(self.device)
        suffix = "-int8" if quantize == "int8" else ""
        self.name = f"{name}{suffix}"

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        device: str = "auto",
        precision: str = "auto",
        quantize: str = "none",
        max_length: int | None = None,
        int8_engine: str = "auto",
    ) -> TransformerClassifier:
        folder = Path(folder)
        config, labels = read_model_config(folder)
        tokenizer, net, _ = build_net(folder, config, labels)
        return cls(
            net,
            tokenizer,
            max_length=max_length or int(config.get("max_length", 64)),
            device=device,
            precision=precision,
            quantize=quantize,
            name=str(config.get("name", folder.name)),
            int8_engine=int8_engine,
        )

    # --- TextClassifier -------------------------------------------------------------------

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        probs = self.probabilities(texts)
        out = []
        for i in range(len(texts)):
            sp = dict(zip(SENTIMENTS, probs["sentiment"][i], strict=True))
            tp = dict(zip(TOPICS, probs["topic"][i], strict=True))
            out.append(
                Prediction(
                    topic=max(tp, key=tp.__getitem__),
                    topic_probs=tp,
                    sentiment=max(sp, key=sp.__getitem__),
                    sentiment_probs=sp,
                )
            )
        return out

    # --- helpers --------------------------------------------------------------------------

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Token count of each text after truncation (the engine sorts by it to cut padding)."""
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        return [len(ids) for ids in enc["input_ids"]]

    def probabilities(self, texts: Sequence[str]) -> dict[str, list[list[float]]]:
        """Per task, one probability row per text (label order of models/labels.py)."""
        return batched_probabilities(
            self.net,
            self.tokenizer,
            [str(t) for t in texts],
            max_length=self.max_length,
            device=self.device,
            autocast_dtype=self.autocast_dtype,
        )


def batched_probabilities(
    net: nn.Module,
    tokenizer: Any,
    texts: list[str],
    *,
    max_length: int,
    device: torch.device,
    autocast_dtype: torch.dtype | None = None,
    chunk: int = PREDICT_CHUNK,
) -> dict[str, list[list[float]]]:
    """Run ``net`` over ``texts`` in length-sorted chunks; results come back in input order."""
    tasks = list(net.heads) if hasattr(net, "heads") else ["sentiment", "topic"]
    results: dict[str, list[list[float]]] = {t: [[] for _ in texts] for t in tasks}
    if not texts:
        return results
    lengths = [
        len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    ]
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    with torch.inference_mode():
        for start in range(0, len(order), chunk):
            idx = order[start : start + chunk]
            enc = tokenizer(
                [texts[i] for i in idx],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            ids = enc["input_ids"].to(device)
            mask = enc["attention_mask"].to(device)
            if autocast_dtype is not None:
                with torch.autocast(device_type=device.type, dtype=autocast_dtype):
                    logits = net(ids, mask)
            else:
                logits = net(ids, mask)
            for t in tasks:
                p = torch.softmax(logits[t].float(), dim=-1).cpu().tolist()
                for row, i in zip(p, idx, strict=True):
                    results[t][i] = row
    return results
