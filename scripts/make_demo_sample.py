"""Build ingest/data/demo_sample.jsonl.gz, the bundled sample ``finpulse demo`` replays offline.

Texts: Twitter Financial News (sentiment and topic training splits, by Ricky Costa, MIT
licence), read from ../shared/data. Timestamps are invented to tell a 24-hour story with a
negative surge about banks and crypto 5-7 hours before "now", then a 20-minute tail after
"now" that the demo trickles in real time. Times are written relative to the anchor
2000-01-02T00:00:00Z, which ``finpulse demo`` maps to the current time.

Deterministic: the same inputs and seed give the same file, byte for byte.

    .venv/bin/python scripts/make_demo_sample.py [--shared ../shared] [--out PATH]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import math
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

ANCHOR = datetime(2000, 1, 2, tzinfo=UTC)  # "now" in the demo
SOURCE = "twitter-financial-news (demo sample)"
SEED = 20240310
HISTORY_H = 24.0
TAIL_MIN = 20.0
N_BACKGROUND = 1180
N_SURGE = 230
N_TAIL = 90
SURGE_START_H = -7.0  # relative to the anchor
SURGE_LEN_H = 1.5

STRESS = re.compile(
    r"\b(bank|banks|banking|lender|lenders|crypto|bitcoin|btc|ether|coinbase|ftx|binance|"
    r"deposit|deposits|credit|loan|loans|debt|default|bankrupt\w*|collapse\w*|contagion|"
    r"regional|financial|insur\w+|liquidity|writedown\w*|losses|sell-?off|plunge\w*|"
    r"tumbl\w+|slump\w*|crash\w*)\b",
    re.I,
)


def read_csv(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(r["text"], r["label"]) for r in csv.DictReader(fh)]


def clean(text: str) -> str:
    return " ".join(text.split())


def build(shared: Path) -> list[dict[str, object]]:
    rng = random.Random(SEED)
    sent = read_csv(shared / "data" / "sentiment" / "train.csv")
    topic = read_csv(shared / "data" / "topic" / "train.csv")

    negative_stress = [t for t, lab in sent if lab == "negative" and STRESS.search(t)]
    financial_neg = [
        t
        for t, lab in topic
        if lab == "financials"
        and re.search(r"\b(cut|falls?|loss|losses|probe|fine[sd]?|lawsuit|plunge|slump)", t, re.I)
    ]
    surge_pool = sorted(set(negative_stress + financial_neg))
    rng.shuffle(surge_pool)
    surge = surge_pool[:N_SURGE]
    used = set(surge)

    background_pool = [t for t, _ in sent + topic if t not in used]
    rng.shuffle(background_pool)
    background = background_pool[:N_BACKGROUND]
    tail = background_pool[N_BACKGROUND : N_BACKGROUND + N_TAIL]

    def wave(u: float) -> float:
        # Relative volume over the day: a quiet night-like trough and a busier "session".
        return 0.55 + 0.45 * math.sin(2 * math.pi * (u - 0.5))

    out: list[tuple[float, str]] = []
    # Background: rejection-sampled against the wave, over the 24 h before the anchor.
    while len(out) < len(background):
        u = rng.random()
        if rng.random() < wave(u):
            out.append((-HISTORY_H * 3600 * (1 - u), background[len(out)]))
    # Surge: a ramp up and down (triangular) inside a 90-minute window.
    for t in surge:
        x = rng.triangular(0.0, 1.0, 0.4)
        out.append(((SURGE_START_H + SURGE_LEN_H * x) * 3600, t))
    # Tail after the anchor: trickled in real time by the demo.
    for t in tail:
        out.append((rng.uniform(1.0, TAIL_MIN * 60), t))

    out.sort(key=lambda p: (p[0], p[1]))
    docs: list[dict[str, object]] = []
    for offset, text in out:
        text = clean(text)
        published = ANCHOR + timedelta(seconds=round(offset))
        docs.append(
            {
                "id": hashlib.sha1(f"demo-sample\n{text}".encode()).hexdigest(),
                "source": SOURCE,
                "title": text,
                "summary": "",
                "link": "",
                "published": published.isoformat().replace("+00:00", "Z"),
                "language": "en",
                "kind": "social",
                "offset_s": round(offset),
            }
        )
    # Ids must be unique: the training data holds a few exact duplicate texts.
    seen: set[str] = set()
    unique = []
    for d in docs:
        if d["id"] not in seen:
            seen.add(str(d["id"]))
            unique.append(d)
    return unique


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=root.parent / "shared")
    ap.add_argument("--out", type=Path, default=root / "ingest" / "data" / "demo_sample.jsonl.gz")
    args = ap.parse_args()
    docs = build(args.shared)
    payload = "".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in docs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 keeps the gzip bytes deterministic.
    with args.out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(payload.encode())
    surge = sum(
        1
        for d in docs
        if SURGE_START_H * 3600 <= int(d["offset_s"]) <= (SURGE_START_H + SURGE_LEN_H) * 3600
    )
    tail = sum(1 for d in docs if int(d["offset_s"]) > 0)
    print(
        f"wrote {len(docs)} documents ({surge} in the surge window, {tail} after the anchor) "
        f"to {args.out} ({args.out.stat().st_size:,} bytes)"
    )


if __name__ == "__main__":
    main()
