"""The production compose file stays consistent with the code (no Docker daemon needed)."""

from __future__ import annotations

from pathlib import Path

import yaml

from cli.main import COMMANDS
from foundation.kafka.topics import TOPIC_NAMES

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def test_compose_has_the_production_shape_and_creates_the_app_topics() -> None:
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "kafka-init", "postgres", "worker", "ingest", "dashboard"} <= set(services)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    init = "\n".join(services["kafka-init"]["command"])
    loop = next(ln.strip() for ln in init.splitlines() if ln.strip().startswith("for t in"))
    assert loop.removeprefix("for t in").removesuffix("; do").split() == list(TOPIC_NAMES)
    assert '--topic "finpulse.$$t"' in init
    for role in ("worker", "ingest", "dashboard"):
        svc = services[role]
        env = svc["environment"]
        assert env["FINPULSE_BROKER__URL"] == "kafka://kafka:9092"
        assert env["FINPULSE_BROKER__EMBEDDED"] == "false"  # no Tansu workarounds on Kafka
        assert env["FINPULSE_STORE__URL"].startswith("postgresql+psycopg://")
        assert svc["command"][0] in COMMANDS


def test_dockerfile_runs_the_cli() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["finpulse"]' in text
    assert "torch==" in text and "[postgres]" in text
