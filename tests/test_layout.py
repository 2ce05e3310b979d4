"""The layout holds: imports run down the layers and never in a circle, services/ is domain packages that
import only what their docstring allows, handlers/ never import bot/ nor another feature's handlers, and no
Python file grows past 400 lines.

Every import counts, wherever it stands (inside functions and under TYPE_CHECKING too): a hidden import is
still a dependency. The standard library's ``ast`` reads the code; nothing is imported.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("config", "models", "services", "handlers", "bot")  # each may import itself and those before it
SHARED_HANDLERS = {"handlers.common", "handlers.context", "handlers.dialogue", "handlers.files", "handlers.menu"}
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {_module(p): p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")
            if "migrations" not in p.parts}


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each project module and the project modules it imports (``from pkg import mod`` is ``pkg.mod``)."""
    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [resolve(f"{node.module}.{a.name}") for a in node.names]
            elif isinstance(node, ast.Import):
                names = [resolve(a.name) for a in node.names]
            else:
                continue
            graph[module] |= {n for n in names if n and n != module and n.split(".")[0] in LAYERS}
    return graph


MODULES = _sources()
GRAPH = _imports(MODULES)


def _part(module: str) -> str:
    """The unit the direction rules speak of: a package of services/ or bot/, else the top-level layer."""
    parts = module.split(".")
    if parts[0] in ("services", "bot") and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def _allowed(part: str) -> set[str]:
    """What a package of services/ or bot/ may import, from the ``May import:`` line of its docstring."""
    path = MODULES[part] if MODULES.get(part, Path()).name == "__init__.py" else None
    if path is None:  # a top-level module of bot/ (logs, metrics): nothing of bot/
        return set()
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    match = re.search(r"May import:\s*(.*?)(?:\.\s*$|\n\n|$)", doc, re.S)
    assert match, f"{path.relative_to(ROOT)}: the docstring must say what the package may import (May import: …)"
    return set(re.findall(r"(?:services|bot)\.\w+", match.group(1)))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_module_imports_another_in_a_circle() -> None:
    assert _cycles(GRAPH) == []


def test_no_package_imports_another_in_a_circle() -> None:
    parts: dict[str, set[str]] = defaultdict(set)
    for module, targets in GRAPH.items():
        parts[_part(module)] |= {_part(t) for t in targets if _part(t) != _part(module)}
    assert _cycles(parts) == []


def test_imports_run_down_the_layers() -> None:
    wrong = [f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets
             if LAYERS.index(t.split(".")[0]) > LAYERS.index(m.split(".")[0])]
    assert wrong == []


@pytest.mark.parametrize("layer", ["services", "bot"])
def test_packages_import_only_what_their_docstring_allows(layer: str) -> None:
    wrong = []
    for module, targets in GRAPH.items():
        if not module.startswith(f"{layer}."):
            continue
        part = _part(module)
        allowed = _allowed(part)
        wrong += [f"{module} -> {t}" for t in targets
                  if t.startswith(f"{layer}.") and _part(t) != part and _part(t) not in allowed]
    assert wrong == []


def test_services_is_packages_only() -> None:
    loose = [p.name for p in (ROOT / "services").glob("*.py") if p.name != "__init__.py"]
    packages = [p for p in (ROOT / "services").iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert loose == [] and packages
    assert all((p / "__init__.py").is_file() for p in packages)


def test_handlers_import_only_shared_handler_modules_and_their_own_text() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        if not module.startswith("handlers.") or module == "handlers.registry":
            continue
        own = {f"{module.removesuffix('_text')}_text"}
        wrong += [f"{module} -> {t}" for t in targets
                  if t.startswith("handlers.") and t not in SHARED_HANDLERS | own]
    assert wrong == []


def test_every_dialogue_has_its_text_its_diagram_and_a_service_of_its_name() -> None:
    dialogues = sorted(p.stem for p in (ROOT / "handlers").glob("*.py") if "ConversationHandler(" in p.read_text())
    assert dialogues, "no dialogue found"
    for name in dialogues:
        assert (ROOT / "handlers" / f"{name}_text.py").is_file(), name
        assert (ROOT / "handlers" / f"{name}.mmd").is_file(), name
        assert list((ROOT / "services").glob(f"*/{name}.py")), f"no services/<package>/{name}.py"


def test_no_python_file_is_over_400_lines() -> None:
    folders = (*LAYERS, "tests", "bench", "scripts")
    long = [f"{p.relative_to(ROOT)} ({n})" for f in folders for p in (ROOT / f).rglob("*.py")
            if ".venv" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == []
