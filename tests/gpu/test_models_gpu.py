"""CUDA paths of the classifier and the engine (skipped without a GPU)."""

from __future__ import annotations

import asyncio

import pytest
import torch

from models.classifier import TransformerClassifier
from models.registry import SHIPPED_MODEL

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

TEXTS = [
    "Fed raises rates by 75 basis points, signals more hikes ahead",
    "Apple beats earnings estimates, shares jump after hours",
    "FTX files for bankruptcy as crypto contagion spreads",
    "Oil steady ahead of OPEC meeting",
] * 16


@pytest.fixture(scope="module")
def fp32():
    return TransformerClassifier.load(SHIPPED_MODEL, device="cuda", precision="fp32")


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_matches_fp32(fp32, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("GPU without bf16")
    mixed = TransformerClassifier.load(SHIPPED_MODEL, device="cuda", precision=precision)
    a, b = fp32.predict(TEXTS), mixed.predict(TEXTS)
    tol = 0.02 if precision == "fp16" else 0.05
    for x, y in zip(a, b, strict=True):
        assert x.sentiment == y.sentiment or max(x.sentiment_probs.values()) < 0.6
        for k, v in x.sentiment_probs.items():
            assert abs(v - y.sentiment_probs[k]) < tol


def test_cuda_matches_cpu(fp32):
    cpu = TransformerClassifier.load(SHIPPED_MODEL, device="cpu")
    for x, y in zip(cpu.predict(TEXTS[:8]), fp32.predict(TEXTS[:8]), strict=True):
        assert x.topic == y.topic
        assert abs(x.sentiment_probs["negative"] - y.sentiment_probs["negative"]) < 1e-3


def test_engine_on_cuda_batches_and_answers_every_caller():
    from models.engine import InferenceEngine

    clf = TransformerClassifier.load(SHIPPED_MODEL, device="cuda")

    async def run():
        engine = InferenceEngine(clf, max_batch_size=32, max_wait_ms=5)
        await engine.start()
        try:
            return await asyncio.gather(*(engine.classify(t) for t in TEXTS)), engine.stats
        finally:
            await engine.close()

    preds, stats = asyncio.run(run())
    direct = clf.predict(TEXTS)
    assert [p.topic for p in preds] == [p.topic for p in direct]
    assert stats.batches < len(TEXTS)  # batched, not one call per text
