"""Extract English news titles from the replay archives as UNLABELLED text for distillation.

The archives are GPL: the output goes to a git-ignored folder (default ``runs/``), never into
the repository. It is one title a line, in archive order, repeats dropped.

    python scripts/replay_titles.py ../shared/data/replay/2022-11.jsonl.gz \
        --out runs/replay_titles.txt

Kept: items whose ``language`` starts with ``en`` and whose ``category`` is one of
``--categories`` (default News, Business), titles of 4 to 30 words; with ``--match REGEX``
(case-insensitive) only titles it matches (``--match finance`` is a built-in list of money
and business words, for text nearer the headlines the model reads).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
from pathlib import Path

FINANCE = (
    r"\b(banks?|shares|stocks?|markets?|profits?|earnings|revenue|crypto|bitcoin|ftx|binance|"
    r"inflation|fed|rates?|economy|recession|layoffs?|jobs|bankrupt\w*|investors?|deals?|"
    r"acquir\w+|mergers?|ceo|sales|prices?|oil|dollar|bonds?|debt|ipo|funds?|billion|million)\b"
)


def titles(paths: list[Path], categories: set[str], match: str | None = None) -> list[str]:
    pattern = re.compile(FINANCE if match == "finance" else match, re.I) if match else None
    seen: set[str] = set()
    out = []
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                item = json.loads(line)
                if not str(item.get("language") or "").lower().startswith("en"):
                    continue
                if item.get("category") not in categories:
                    continue
                title = " ".join(str(item.get("title") or "").split())
                if not 4 <= len(title.split()) <= 30 or title.lower() in seen:
                    continue
                if pattern is not None and not pattern.search(title):
                    continue
                seen.add(title.lower())
                out.append(title)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archives", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("runs/replay_titles.txt"))
    ap.add_argument("--categories", default="News,Business")
    ap.add_argument("--match", default=None, help="keep titles matching REGEX ('finance')")
    args = ap.parse_args()
    rows = titles(args.archives, set(args.categories.split(",")), args.match)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{len(rows)} titles -> {args.out} (sha256 {digest})")


if __name__ == "__main__":
    main()
