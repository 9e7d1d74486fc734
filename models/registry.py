"""Loading the configured classifier: the shipped model, a model folder, or the baseline."""

from __future__ import annotations

import logging
from pathlib import Path

from foundation.errors import ModelError
from foundation.settings import ModelSettings
from models.base import TextClassifier

log = logging.getLogger(__name__)

SHIPPED_MODEL = Path(__file__).resolve().parent / "weights" / "default"


def model_folder(path: str | None) -> Path | None:
    """The folder ``model.path`` names: None for the baseline, the shipped model when unset."""
    if path == "baseline":
        return None
    return Path(path).expanduser() if path else SHIPPED_MODEL


def load_classifier(settings: ModelSettings) -> TextClassifier:
    """The classifier named by ``settings.path``: ``baseline``, a folder, or (None) the shipped
    model in models/weights/default. A missing or incomplete folder raises ModelError naming
    what is missing; there is no silent fallback to the baseline."""
    if settings.path == "baseline":
        from models.baseline import LexiconBaseline

        log.warning("using the lexicon BASELINE classifier, not the fine-tuned model")
        return LexiconBaseline()
    from models.classifier import TransformerClassifier

    folder = model_folder(settings.path)
    assert folder is not None  # the baseline returned above
    if not folder.exists():
        what = "the shipped model" if settings.path is None else "model.path"
        raise ModelError(f"{what} folder not found: {folder}")
    clf = TransformerClassifier.load(
        folder,
        device=settings.device,
        precision=settings.precision,
        quantize=settings.quantize,
        max_length=settings.max_length,
    )
    log.info(
        "loaded classifier %s from %s on %s (precision %s, quantize %s)",
        clf.name,
        folder,
        clf.device,
        clf.autocast_dtype or "fp32",
        settings.quantize,
    )
    return clf
