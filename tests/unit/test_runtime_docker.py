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


def test_dockerfile_builds_a_cpu_and_a_cuda_flavour_with_every_package() -> None:
    import tomllib

    text = (DOCKER / "Dockerfile").read_text()
    assert "FROM base AS torch-cpu" in text and "FROM base AS torch-cuda" in text
    assert "FROM torch-${FLAVOR} AS app" in text
    include = tomllib.loads((DOCKER.parent / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    for pattern in include:
        package = pattern.rstrip("*")
        assert f"COPY {package} ./{package}" in text, f"the image lacks the {package} package"


def compose_env(service: dict) -> dict[str, str]:
    """The service's environment with ${VAR:-default} interpolated to its default."""
    import re

    return {
        k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v))
        for k, v in service["environment"].items()
    }


def test_compose_settings_load_and_kafka_services_have_no_embedded_workarounds(
    monkeypatch, tmp_path
) -> None:
    from foundation.settings import load_settings
    from foundation.store import Store
    from monitor.stream.app import create_app

    services = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())["services"]
    roles = [n for n, s in services.items() if s.get("image", "").startswith("finpulse:")]
    assert {"migrate", "worker", "worker-gpu", "ingest", "dashboard"} <= set(roles)
    for name in roles:
        for k in [k for k in __import__("os").environ if k.startswith("FINPULSE_")]:
            monkeypatch.delenv(k)
        for k, v in compose_env(services[name]).items():
            monkeypatch.setenv(k, v)
        settings = load_settings()  # a misspelt FINPULSE_ variable fails here (extra=forbid)
        assert settings.broker.embedded is False, name
        assert settings.metrics.host == "0.0.0.0", name
        assert [s.kind for s in settings.sinks] == ["alertmanager_api"], name
    # The Tansu work-around (one record per producer batch) stays off on Kafka. (data_dir
    # is the container's /data: moved to tmp_path so the test writes nothing outside it.)
    settings = settings.model_copy(update={"data_dir": str(tmp_path)})
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    assert create_app(settings, store=store).conf.producer_max_batch_size != 1
    store.dispose()


def test_compose_file_validates_with_docker_compose(tmp_path) -> None:
    import shutil
    import subprocess

    import servers

    if shutil.which("docker") and (
        subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        cmd = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        cmd = ["docker-compose"]
    else:
        servers.unavailable(
            servers.ServerUnavailable(
                "no docker compose client; " + servers.INSTALL_HINT.format(pkg="docker-compose")
            )
        )
    folder = tmp_path / "docker"
    shutil.copytree(DOCKER, folder)
    shutil.copy(folder / "finpulse.env.example", folder / "finpulse.env")
    for profile in ([], ["--profile", "gpu"]):
        res = subprocess.run(
            [*cmd, "-f", str(folder / "docker-compose.yml"), *profile, "config", "-q"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
