"""Seconds per training step of an encoder + the two heads (full fine-tune, batch of tweets).

    python bench/train_step.py --encoder FOLDER [--steps 5] [--batch-size 32] [--threads 2]

Decides whether a teacher run fits a machine before starting one: prints the median s/step
over ``--steps`` steps (after one warm-up step) and the projected hours for one epoch over
the tweets (sentiment + topic train rows).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from models.classifier import MultiTaskNet
from models.encoder import load_encoder, resolve_encoder
from models.labels import TASKS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--encoder", default=None)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", type=Path, default=DATA)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ref = resolve_encoder(args.encoder)
    tokenizer, encoder = load_encoder(ref)
    net = MultiTaskNet(encoder, {t: list(ls) for t, ls in TASKS.items()})
    net.train()
    with open(args.data_dir / "sentiment" / "train.csv", newline="", encoding="utf-8") as fh:
        texts = [r["text"] for r in csv.DictReader(fh)]
    opt = torch.optim.AdamW(net.parameters(), lr=1e-5)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for step in range(args.steps + 1):
        batch = texts[step * args.batch_size : (step + 1) * args.batch_size]
        enc = tokenizer(batch, truncation=True, max_length=64, padding=True, return_tensors="pt")
        y = torch.randint(0, 3, (len(batch),))
        t0 = time.perf_counter()
        loss = loss_fn(net(enc["input_ids"], enc["attention_mask"], "sentiment")["sentiment"], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step:  # the first step pays one-off allocation costs
            times.append(time.perf_counter() - t0)
    per_step = statistics.median(times)
    rows = 9543 + 16990
    print(
        json.dumps(
            {
                "encoder": ref.name,
                "params": sum(p.numel() for p in net.parameters()),
                "batch_size": args.batch_size,
                "threads": args.threads,
                "s_per_step": round(per_step, 2),
                "steps_timed": len(times),
                "epoch_hours": round(per_step * rows / args.batch_size / 3600, 2),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
