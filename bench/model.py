"""Classifier throughput (texts/s) by device, precision, batch size, and the int8 CPU path.

    .venv/bin/python bench/model.py [--model DIR] [--batch-sizes 1,8,32,64,128] [--texts 512]
        [--threads N] [--accuracy] [--card DIR]

Texts are real headlines from ../shared/data (topic dev set) when present, so the token
lengths are realistic; timings include tokenisation (what a caller pays). ``--accuracy`` also
scores fp32 and int8 on both dev sets (macro-F1 delta); ``--card DIR`` writes the figures into
that model folder's card. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def _texts(n: int) -> list[str]:
    path = SHARED / "topic" / "dev.csv"
    if path.is_file():
        from models.data import read_labelled_csv
        from models.labels import TOPICS

        texts = [r.text for r in read_labelled_csv(path, TOPICS)]
    else:  # synthetic, similar length (~40 tokens)
        texts = [
            f"Stocks {i} fall as the Fed signals more rate hikes https://t.co/x{i}"
            for i in range(n)
        ]
    return (texts * (n // len(texts) + 1))[:n]


def _throughput(clf, texts: list[str], batch: int, min_s: float = 2.0) -> float:
    clf.predict(texts[:batch])  # warm-up (allocations, kernel selection)
    if clf.device.type == "cuda":
        import torch

        torch.cuda.synchronize()
    done, started = 0, time.perf_counter()
    while True:
        for i in range(0, len(texts), batch):
            clf.predict(texts[i : i + batch])
            done += len(texts[i : i + batch])
        elapsed = time.perf_counter() - started
        if elapsed >= min_s:
            return done / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "weights" / "default"))
    ap.add_argument("--batch-sizes", default="1,8,32,64,128")
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--accuracy", action="store_true", help="dev macro-F1, fp32 vs int8")
    ap.add_argument("--card", default=None, help="write the figures into this model's card")
    args = ap.parse_args()

    import torch

    from models.classifier import TransformerClassifier

    if args.threads:
        torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batch_sizes.split(",")]
    texts = _texts(args.texts)
    paths = [("cpu", "fp32", "none"), ("cpu", "fp32", "int8")]
    if torch.cuda.is_available():
        paths += [("cuda", "fp32", "none"), ("cuda", "fp16", "none"), ("cuda", "bf16", "none")]
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU(s), torch threads "
        f"{torch.get_num_threads()}, "
        + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")
        + f", torch {torch.__version__}"
    )
    rows = []
    for device, precision, quantize in paths:
        clf = TransformerClassifier.load(
            args.model, device=device, precision=precision, quantize=quantize
        )
        label = f"{device} {precision}" + (" int8" if quantize == "int8" else "")
        for b in batches:
            n = texts if b >= 8 else texts[: max(32, len(texts) // 8)]
            tps = _throughput(clf, n, b, args.min_seconds)
            rows.append({"path": label, "batch": b, "texts_per_s": round(tps, 1)})
            print(f"{label:16s} batch {b:4d}  {tps:10.1f} texts/s", flush=True)

    result: dict = {"bench": "model", "machine": machine, "model": args.model, "rows": rows}
    fp32 = {r["batch"]: r["texts_per_s"] for r in rows if r["path"] == "cpu fp32"}
    int8 = {r["batch"]: r["texts_per_s"] for r in rows if r["path"] == "cpu fp32 int8"}
    result["int8_speedup"] = {b: round(int8[b] / fp32[b], 2) for b in fp32 if b in int8}

    if args.accuracy and (SHARED / "topic" / "dev.csv").is_file():
        from models.evaluate import evaluate_classifier

        acc = {}
        for quantize in ("none", "int8"):
            clf = TransformerClassifier.load(args.model, device="cpu", quantize=quantize)
            for task in ("sentiment", "topic"):
                m = evaluate_classifier(clf, task, SHARED / task / "dev.csv")
                acc[f"{task}_{quantize}"] = {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
        result["dev"] = acc
        result["int8_macro_f1_delta"] = {
            t: round(acc[f"{t}_int8"]["macro_f1"] - acc[f"{t}_none"]["macro_f1"], 4)
            for t in ("sentiment", "topic")
        }

    print()
    print(f"machine: {machine}")
    print(f"{'path':16s} " + " ".join(f"{'b=' + str(b):>10s}" for b in batches))
    for label in dict.fromkeys(r["path"] for r in rows):
        vals = {r["batch"]: r["texts_per_s"] for r in rows if r["path"] == label}
        print(f"{label:16s} " + " ".join(f"{vals.get(b, 0):10.1f}" for b in batches))
    print(f"int8 speed-up over fp32 (CPU): {result['int8_speedup']}")
    if "dev" in result:
        print(f"dev metrics: {result['dev']}")
        print(f"int8 macro-F1 delta: {result['int8_macro_f1_delta']}")
    print(json.dumps(result))

    if args.card:
        from models.card import read_card, write_card

        card = read_card(args.card)
        card["speed"] = {
            "machine": machine,
            "rows": rows,
            "note": "texts/s including tokenisation; real dev headlines; bench/model.py",
        }
        if "dev" in result:
            card["int8"] = {
                "speedup_by_batch": result["int8_speedup"],
                "dev": result["dev"],
                "macro_f1_delta": result["int8_macro_f1_delta"],
            }
        write_card(args.card, card)


if __name__ == "__main__":
    main()
