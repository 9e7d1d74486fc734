"""The dependency audit's verdict (scripts/audit_report.py) on pip-audit reports."""

from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "audit_report", Path(__file__).resolve().parents[2] / "scripts" / "audit_report.py"
)
assert spec is not None and spec.loader is not None
audit_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit_report)


def dep(name: str, vulns: list | None = None, skip: str | None = None) -> dict:
    d: dict = {"name": name, "version": "1.0"}
    if skip:
        d["skip_reason"] = skip
    else:
        d["vulns"] = vulns or []
    return d


def test_a_finding_fails_the_audit_and_names_the_fix():
    report = {
        "dependencies": [
            dep("flask"),
            dep("werkzeug", [{"id": "GHSA-xxxx", "fix_versions": ["3.0.6"]}]),
        ]
    }
    status, lines = audit_report.summarise(report)
    assert status == 1
    assert "[audit] werkzeug 1.0: GHSA-xxxx (fixed in: 3.0.6)" in lines


def test_clean_report_passes():
    status, lines = audit_report.summarise({"dependencies": [dep("a"), dep("b", skip="x")]})
    assert status == 0 and lines[0] == "[audit] 1 of 2 packages audited, 1 skipped"


def test_an_audit_that_could_look_nothing_up_says_not_run_and_does_not_fail():
    report = {"dependencies": [dep("a", skip="not found on PyPI"), dep("b", skip="not found")]}
    status, lines = audit_report.summarise(report)
    assert status == 0 and lines[0].startswith("[audit] NOT RUN: 0 of 2 packages")
