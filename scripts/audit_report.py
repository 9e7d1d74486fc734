"""Summarise a pip-audit JSON report (scripts/audit.sh); stdlib only.

Usage: audit_report.py REPORT.json PIP_AUDIT_EXIT_STATUS STDERR_FILE
Exit status: 1 when vulnerabilities were found, 0 otherwise, including when nothing could be
looked up (then it says NOT RUN, so a blind audit is never reported as clean).
"""

from __future__ import annotations

import json
import sys


def summarise(report: dict, rc: int = 0) -> tuple[int, list[str]]:
    """(exit status, lines to print) for a pip-audit JSON report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    found = [(d["name"], d["version"], v) for d in deps for v in d.get("vulns", [])]
    if audited == 0:
        return 0, [
            f"[audit] NOT RUN: 0 of {len(deps)} packages could be looked up (the advisory "
            "data on PyPI is unreachable from here); not failing. Run scripts/audit.sh where "
            "pypi.org is reachable."
        ]
    lines = [f"[audit] {audited} of {len(deps)} packages audited, {len(skipped)} skipped"]
    for name, version, v in found:
        fix = ", ".join(v.get("fix_versions") or []) or "no fix yet"
        lines.append(f"[audit] {name} {version}: {v['id']} (fixed in: {fix})")
    if found:
        lines.append(
            f"[audit] {len(found)} known vulnerabilities: raise the range in pyproject.toml, "
            "or list the ID with a reason in scripts/audit-ignore.txt and docs/reliability.md"
        )
        return 1, lines
    lines.append("[audit] no known vulnerabilities in the audited packages")
    return 0, lines


def main(argv: list[str]) -> int:
    path, rc, err = argv[1], int(argv[2]), argv[3]
    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
    except (OSError, ValueError):
        try:
            with open(err, encoding="utf-8", errors="replace") as fh:
                tail = fh.read()[-600:].strip()
        except OSError:
            tail = ""
        print(f"[audit] NOT RUN: pip-audit gave no report (exit {rc}): {tail}", file=sys.stderr)
        return 0
    status, lines = summarise(report, rc)
    for line in lines:
        print(line, file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
