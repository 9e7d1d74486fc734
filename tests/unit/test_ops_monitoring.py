"""The shipped Prometheus and Alertmanager configuration is valid, scrapes the ports the
code exports on, and the rules for finpulse itself fire when they should (promtool)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import servers
import yaml

from foundation.settings import MetricsSettings

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "docker" / "prometheus"


def tool(name: str, package: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        servers.unavailable(
            servers.ServerUnavailable(
                f"{name} missing; " + servers.INSTALL_HINT.format(pkg=package)
            )
        )
    return exe


def run(*cmd: str) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_rules_are_valid_and_fire_as_their_unit_tests_say():
    promtool = tool("promtool", "prometheus")
    assert "SUCCESS" in run(promtool, "check", "rules", str(PROM / "finpulse-rules.yml"))
    run(promtool, "test", "rules", str(ROOT / "tests" / "ops" / "finpulse-rules.test.yml"))


def test_rules_cover_lag_dead_letters_and_silent_sources():
    rules = yaml.safe_load((PROM / "finpulse-rules.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"FinpulseConsumerLagHigh", "FinpulseDeadLetters", "FinpulseSourceSilent"} <= names


def test_prometheus_config_is_valid_and_scrapes_the_exporter_ports():
    run(tool("promtool", "prometheus"), "check", "config", str(PROM / "prometheus.yml"))
    cfg = yaml.safe_load((PROM / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    defaults = MetricsSettings()
    assert jobs["finpulse-worker"]["dns_sd_configs"][0]["port"] == defaults.worker_port
    assert jobs["finpulse-ingest"]["static_configs"][0]["targets"] == [
        f"ingest:{defaults.ingest_port}"
    ]


@pytest.mark.parametrize("config", ["alertmanager.yml"])
def test_alertmanager_config_is_valid(config):
    amtool = tool("amtool", "prometheus-alertmanager")
    run(amtool, "check-config", str(ROOT / "docker" / "alertmanager" / config))
