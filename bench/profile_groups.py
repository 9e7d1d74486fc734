"""Where a worker's time goes: py-spy raw (collapsed) profiles grouped by what the stack does.

    python -m bench.profile_groups DIR/ceiling.txt [MORE.txt ...]

Reads the files ``bench.pipeline --profile DIR`` writes (``frame;frame;... count`` per line)
and gives each sample to the first group of ``GROUPS`` one of whose patterns occurs in its
stack (in that order: a document stored from the aggregation agent is "store", not
"aggregation"), then prints one table, a column per file. Not a test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# (group, substrings of a frame); first match wins, so the specific ones come first.
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("classifier (model or lexicon baseline)", ("models/", "torch/", "onnxruntime")),
    (
        "store writes (SQLite, a thread)",
        ("foundation/store/", "sqlalchemy/", "sqlite3"),
    ),
    (
        "detection: window boundaries",
        ("_evaluate_boundary", "_catch_up", "monitor/core/detection.py", "surges.py"),
    ),
    ("state dumps (changelog shards)", ("take_changes", "dump_scope", "dump_meta", "Table.")),
    ("windowing add + watermarks", ("windowing.py", "watermarks.py", "emerging.py")),
    (
        "decode / encode (pydantic, JSON)",
        ("pydantic", "schemas.py", "batches.py", "json/", "orjson", "faust/serializers"),
    ),
    ("Kafka produce (aiokafka producer)", ("aiokafka/producer", "sender.py")),
    (
        "Kafka consume + Faust streams",
        ("aiokafka/consumer", "faust/transport/", "faust/streams/", "faust/events"),
    ),
    ("metrics (Prometheus client)", ("prometheus_client",)),
    ("asyncio, Faust/mode internals, threads", ("",)),
]


def load(path: Path) -> dict[str, int]:
    counts = {name: 0 for name, _ in GROUPS}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        for name, patterns in GROUPS:
            if any(p in stack for p in patterns):
                counts[name] += int(n)
                break
    return counts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.profile_groups", description=__doc__)
    ap.add_argument("files", nargs="+", type=Path)
    args = ap.parse_args(argv)
    cols = [load(f) for f in args.files]
    totals = [sum(c.values()) or 1 for c in cols]
    names = [f"{f.parent.name}/{f.name}" for f in args.files]
    head = " | ".join(f"{n} ({t} samples)" for n, t in zip(names, totals, strict=True))
    print(f"| group | {head} |")
    print("|---" * (len(cols) + 1) + "|")
    for name, _ in GROUPS:
        cells = " | ".join(f"{100 * c[name] / t:.0f} %" for c, t in zip(cols, totals, strict=True))
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main(sys.argv[1:])
