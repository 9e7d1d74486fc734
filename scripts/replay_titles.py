"""Extract English news titles from the replay archives as UNLABELLED text for distillation.

The archives are GPL: the output goes to a git-ignored folder (default ``runs/``), never into
the repository. It is one title a line, in archive order, repeats dropped.

    python scripts/replay_titles.py ../shared/data/replay/2022-11.jsonl.gz \
        --out runs/replay_titles.txt

Kept: items whose ``language`` starts with ``en`` and whose ``category`` is one of
``--categories`` (default News, Business), titles of 4 to 30 words.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from pathlib import Path


def titles(paths: list[Path], categories: set[str]) -> list[str]:
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
                seen.add(title.lower())
                out.append(title)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archives", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("runs/replay_titles.txt"))
    ap.add_argument("--categories", default="News,Business")
    args = ap.parse_args()
    rows = titles(args.archives, set(args.categories.split(",")))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{len(rows)} titles -> {args.out} (sha256 {digest})")


if __name__ == "__main__":
    main()
