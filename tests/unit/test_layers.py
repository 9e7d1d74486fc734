"""The layer rule: foundation < models < ingest < monitor < dashboard < cli.

A module may import its own layer and the layers below it, never one above (lazy imports
inside functions count too: they run back up the graph all the same). bench/, tests/ and
scripts/ sit outside the layers and may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["foundation", "models", "ingest", "monitor", "dashboard", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def layer_violations(root: Path = ROOT) -> list[str]:
    problems = []
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            for line, package in imported_packages(path):
                if package in RANK and RANK[package] > RANK[layer]:
                    where = path.relative_to(root)
                    problems.append(f"{where}:{line}: {layer} imports {package} (a layer above)")
    return problems


def test_no_import_runs_back_up_a_layer() -> None:
    assert layer_violations() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "foundation").mkdir()
    (tmp_path / "foundation" / "x.py").write_text("def f():\n    from monitor.core import y\n")
    assert layer_violations(tmp_path) == [
        "foundation/x.py:2: foundation imports monitor (a layer above)"
    ]
