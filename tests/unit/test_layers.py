"""Nothing imports upwards: each package imports only the layers STYLE.md puts below it (or beside it, for none).

Layers, lowest first: ``kubeai`` (core) -> ``knowledge``, ``tools``, ``serving`` -> ``graphs`` -> ``agents`` ->
``app``; ``evals`` and ``finetune`` stand beside ``agents`` and receive what they need of an agent as a Protocol
that ``app`` fills in. Every import in every module counts, the lazy ones inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("kubeai", "knowledge", "tools", "serving", "graphs", "agents", "evals", "finetune", "app")
ABOVE_AGENTS = frozenset({"agents", "app", "evals", "finetune"})
# For each package, the project packages it must never import.
FORBIDDEN: dict[str, frozenset[str]] = {
    "kubeai": frozenset(PACKAGES) - {"kubeai"},
    "knowledge": ABOVE_AGENTS | {"graphs"},
    "tools": ABOVE_AGENTS | {"graphs"},
    "serving": ABOVE_AGENTS | {"graphs"},
    "graphs": ABOVE_AGENTS,
    "agents": frozenset({"app", "evals", "finetune"}),
    "evals": frozenset({"agents", "app"}),
    "finetune": frozenset({"agents", "app"}),
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """The absolute imports of a module as (line, module name), lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def upward_imports(package: str) -> list[str]:
    """``file:line imports module`` for every import of ``package`` that reaches a forbidden package."""
    forbidden = FORBIDDEN[package]
    return [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in sorted((REPO / package).rglob("*.py"))
        for line, module in imported_packages(path)
        if module.split(".")[0] in forbidden
    ]


def test_evals_imports_nothing_from_agents_or_app() -> None:
    assert (REPO / "evals" / "runner.py").is_file()  # the harness is where this test looks
    assert upward_imports("evals") == []


@pytest.mark.parametrize("package", sorted(set(FORBIDDEN) - {"evals"}))
def test_no_package_imports_upwards(package: str) -> None:
    assert (REPO / package / "__init__.py").is_file()
    assert upward_imports(package) == []


def test_the_check_sees_lazy_and_aliased_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import agents.metrics as m\n\ndef f():\n    from app.cli import app\n", encoding="utf-8")
    assert imported_packages(module) == [(1, "agents.metrics"), (4, "app.cli")]
