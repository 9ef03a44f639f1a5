"""The kernel's import rules, read from the source with ``ast``: imports point one way and never loop.

Lazy imports inside functions count too: they hide a dependency, they do not remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: installed package name -> folder, for every first-party package
PACKAGES = {
    "bench_runner_core": ROOT / "core",
    "bench_runner_parsers": ROOT / "parsers",
    "bench_runner_humaneval": ROOT / "plugins" / "humaneval" / "bench_runner_humaneval",
    "bench_runner_lcb": ROOT / "plugins" / "lcb" / "bench_runner_lcb",
}
PLUGINS = "bench_runner_core.plugins"


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for bench_runner.py and every module of the first-party packages."""
    found = {"bench_runner": ROOT / "bench_runner.py"}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The first-party modules ``name`` imports (``from pkg import mod`` counts as importing ``pkg.mod``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {t for t in targets if t in known and t != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "bench_runner_core.plugins._openai_compat" in edges["bench_runner_core.plugins.openai"]
    assert "bench_runner_core.api" in edges["bench_runner_core.run"]
    assert "bench_runner_core.files" in edges["bench_runner"]


def test_the_kernel_never_imports_a_plugin() -> None:
    backward = {
        (name, target)
        for name, targets in graph().items()
        if name.startswith("bench_runner_core.") and not name.startswith(PLUGINS)
        for target in targets
        if target.startswith(PLUGINS)
    }
    assert not backward, f"core/ modules importing core/plugins/ (move the shared code into core/): {sorted(backward)}"


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = "open"
        path.append(name)
        for target in sorted(edges[name]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)
