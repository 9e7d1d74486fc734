"""Classifier throughput (texts/s) by device, precision, batch size, and the int8 CPU path.

    .venv/bin/python bench/model.py [--model DIR [--model DIR2 ...]] [--batch-sizes 1,8,32]
        [--texts 512] [--threads N] [--paths "cpu fp32,cpu int8 onnx,cpu int8 torch"]
        [--accuracy] [--card DIR]

Texts are real headlines from ../shared/data (topic dev set) when present, so the token
lengths are realistic; timings include tokenisation (what a caller pays). Several ``--model``s
are measured side by side (batch size outermost), so old and new share the machine's load.
``--accuracy`` also scores every path on the three dev sets (tweets' sentiment and topic, news
headlines) with the macro-F1 delta to fp32; ``--card DIR`` writes that model's figures into its
card. Prints a table, then one JSON line.
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


PATHS = {
    "cpu fp32": ("cpu", "fp32", "none", "auto"),
    "cpu int8 onnx": ("cpu", "fp32", "int8", "onnx"),
    "cpu int8 torch": ("cpu", "fp32", "int8", "torch"),
    "cuda fp32": ("cuda", "fp32", "none", "auto"),
    "cuda fp16": ("cuda", "fp16", "none", "auto"),
    "cuda bf16": ("cuda", "bf16", "none", "auto"),
}
DEV_SETS = {"sentiment": "sentiment", "topic": "topic", "news": "sentiment"}  # set -> head


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model",
        action="append",
        default=None,
        help="model folder (repeat to compare models side by side in one run)",
    )
    ap.add_argument("--batch-sizes", default="1,8,32,64,128")
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument(
        "--paths",
        default="cpu fp32,cpu int8 onnx,cpu int8 torch",
        help=f"comma-separated, of: {', '.join(PATHS)} (CUDA rows only where CUDA is)",
    )
    ap.add_argument("--accuracy", action="store_true", help="dev accuracy/macro-F1 per path")
    ap.add_argument("--card", default=None, help="write the figures into this model's card")
    args = ap.parse_args()

    import torch

    from models.classifier import TransformerClassifier

    if args.threads:
        torch.set_num_threads(args.threads)
    models = args.model or [str(ROOT / "models" / "weights" / "default")]
    batches = [int(b) for b in args.batch_sizes.split(",")]
    texts = _texts(args.texts)
    wanted = [p.strip() for p in args.paths.split(",")]
    unknown = [p for p in wanted if p not in PATHS]
    if unknown:
        raise SystemExit(f"unknown --paths {unknown}; choose from {list(PATHS)}")
    paths = [p for p in wanted if not p.startswith("cuda") or torch.cuda.is_available()]
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU(s), torch threads "
        f"{torch.get_num_threads()}, "
        + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")
        + f", torch {torch.__version__}, load average at start "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    clfs = {}
    for model in models:
        for path in paths:
            device, precision, quantize, engine = PATHS[path]
            clfs[(model, path)] = TransformerClassifier.load(
                model, device=device, precision=precision, quantize=quantize, int8_engine=engine
            )
    rows = []
    # Batch size outermost, models and paths inside: every figure of one batch size is taken
    # within seconds of the others, so a change in the machine's load hits them alike.
    for b in batches:
        n = texts if b >= 8 else texts[: max(32, len(texts) // 8)]
        for (model, path), clf in clfs.items():
            tps = _throughput(clf, n, b, args.min_seconds)
            rows.append({"model": model, "path": path, "batch": b, "texts_per_s": round(tps, 1)})
            print(
                f"{Path(model).name:24s} {path:16s} batch {b:4d}  {tps:10.1f} texts/s", flush=True
            )

    result: dict = {"bench": "model", "machine": machine, "models": models, "rows": rows}

    def speed(model: str, path: str) -> dict[int, float]:
        return {
            r["batch"]: r["texts_per_s"] for r in rows if r["model"] == model and r["path"] == path
        }

    result["speedup_over_fp32"] = {
        f"{Path(m).name} {p}": {
            b: round(v / speed(m, "cpu fp32")[b], 2) for b, v in speed(m, p).items()
        }
        for m in models
        for p in paths
        if p != "cpu fp32" and "cpu fp32" in paths
    }
    if len(models) > 1 and "cpu fp32" in paths:
        result["fp32_vs_first_model"] = {
            Path(m).name: {
                b: round(v / speed(models[0], "cpu fp32")[b], 2)
                for b, v in speed(m, "cpu fp32").items()
            }
            for m in models[1:]
        }

    if args.accuracy:
        from models.evaluate import evaluate_classifier

        dev: dict = {}
        for (model, path), clf in clfs.items():
            for name, task in DEV_SETS.items():
                csv_path = SHARED / name / "dev.csv"
                if not csv_path.is_file():
                    continue
                m = evaluate_classifier(clf, task, csv_path)
                dev.setdefault(Path(model).name, {}).setdefault(path, {})[name] = {
                    "accuracy": m["accuracy"],
                    "macro_f1": m["macro_f1"],
                }
        result["dev"] = dev
        result["macro_f1_delta_vs_fp32"] = {
            f"{m} {p}": {
                s: round(v["macro_f1"] - per_path["cpu fp32"][s]["macro_f1"], 4)
                for s, v in scores.items()
            }
            for m, per_path in dev.items()
            for p, scores in per_path.items()
            if p != "cpu fp32" and "cpu fp32" in per_path
        }

    print()
    print(f"machine: {machine}")
    print(f"{'model':24s} {'path':16s} " + " ".join(f"{'b=' + str(b):>9s}" for b in batches))
    for model, path in clfs:
        vals = speed(model, path)
        print(
            f"{Path(model).name:24s} {path:16s} "
            + " ".join(f"{vals.get(b, 0):9.1f}" for b in batches)
        )
    print(f"speed-up over fp32 (CPU): {result['speedup_over_fp32']}")
    if "fp32_vs_first_model" in result:
        print(f"fp32 throughput vs {Path(models[0]).name}: {result['fp32_vs_first_model']}")
    if "dev" in result:
        print(f"dev metrics: {json.dumps(result['dev'])}")
        print(f"macro-F1 delta vs fp32: {result['macro_f1_delta_vs_fp32']}")
    print(json.dumps(result))

    if args.card:
        from models.card import read_card, write_card

        card = read_card(args.card)
        mine = [r for r in rows if Path(r["model"]).resolve() == Path(args.card).resolve()]
        card["speed"] = {
            "machine": machine,
            "rows": [{k: v for k, v in r.items() if k != "model"} for r in mine],
            "note": "texts/s including tokenisation; real dev headlines; bench/model.py",
        }
        name = Path(args.card).name
        if "dev" in result and name in result["dev"]:
            card["int8"] = {
                "engine": "onnx (ONNX Runtime dynamic int8; torch.ao for comparison)",
                "speedup_over_fp32": {
                    k: v for k, v in result["speedup_over_fp32"].items() if k.startswith(name)
                },
                "dev": result["dev"][name],
                "macro_f1_delta_vs_fp32": {
                    k: v for k, v in result["macro_f1_delta_vs_fp32"].items() if k.startswith(name)
                },
            }
        write_card(args.card, card)


if __name__ == "__main__":
    main()
