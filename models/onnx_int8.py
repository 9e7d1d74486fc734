"""The int8 CPU path through ONNX Runtime: export the net, quantise its weights dynamically.

``torch.ao`` dynamic quantisation is deprecated in the installed torch; ONNX Runtime's dynamic
int8 (``onnxruntime.quantization.quantize_dynamic``: int8 weights, activations quantised per
batch) runs the same graph with its own fused int8 kernels. The exported and quantised graph is
cached by the model weights' sha256 (``~/.cache/finpulse/onnx``, ``FINPULSE_ONNX_CACHE``), so
only the first load of a model pays the export (seconds).

``OnnxNet`` is called like ``MultiTaskNet`` (``net(input_ids, attention_mask)`` -> logits per
head), so the classifier's batching code does not change. onnxruntime is optional
(``pip install 'finpulse[onnx]'``); ``available()`` says whether it is installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

OPSET = 17


def available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "finpulse" / "onnx"
    return Path(os.environ.get("FINPULSE_ONNX_CACHE") or default)


class _Export(nn.Module):
    """Both heads' logits as a tuple (ONNX graphs return tensors, not dicts)."""

    def __init__(self, net: nn.Module, tasks: list[str]):
        super().__init__()
        self.net, self.tasks = net, tasks

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[Any, ...]:
        out = self.net(input_ids, attention_mask)
        return tuple(out[t] for t in self.tasks)


def _fingerprint(net: nn.Module) -> str:
    """sha256 over the weights: the cache key (same weights, same graph)."""
    h = hashlib.sha256()
    for name, value in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(value.detach().cpu().float().numpy().tobytes())
    return h.hexdigest()


def export_int8(net: nn.Module, tasks: list[str], dest: Path) -> Path:
    """Export ``net`` (eval mode, fp32) to ONNX and quantise it to ``dest`` (int8 weights)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    net.eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            _Export(net, tasks),
            (ids, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=tasks,
            dynamic_axes={"input_ids": axes, "attention_mask": axes}
            | {t: {0: "batch"} for t in tasks},
            opset_version=OPSET,
            dynamo=False,
        )
        part = dest.with_suffix(".part")
        quantize_dynamic(str(fp32), str(part), weight_type=QuantType.QInt8)
        part.rename(dest)
    return dest


class OnnxNet:
    """An ONNX Runtime session that answers like ``MultiTaskNet``."""

    def __init__(self, path: Path, tasks: list[str], threads: int = 0):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        opts.inter_op_num_threads = 1
        # No busy-waiting between runs: ORT's threads spin by default, which on a small shared
        # CPU steals the cores from everything else (measured: torch fp32 beside an idle ORT
        # session dropped from ~100 to ~2 texts/s).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.heads = {t: None for t in tasks}  # only the names: batched_probabilities reads them
        self.path = path

    def __call__(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, task: str | None = None
    ) -> dict[str, torch.Tensor]:
        outs = self.session.run(
            list(self.heads),
            {
                "input_ids": input_ids.cpu().numpy(),
                "attention_mask": attention_mask.cpu().numpy(),
            },
        )
        return {t: torch.from_numpy(o) for t, o in zip(self.heads, outs, strict=True)}

    def to(self, device: Any) -> OnnxNet:
        return self  # CPU only; the classifier checks the device before building one

    def eval(self) -> OnnxNet:
        return self


def onnx_int8(net: nn.Module, tasks: list[str]) -> OnnxNet:
    """The cached int8 graph of ``net`` (exported on first use) in a CPU session."""
    path = cache_dir() / f"{_fingerprint(net)[:32]}-int8.onnx"
    if not path.is_file():
        log.info("exporting the model to ONNX int8 at %s (first use of these weights)", path)
        export_int8(net, tasks, path)
    return OnnxNet(path, tasks)
