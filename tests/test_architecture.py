"""The house rules that keep the code readable, checked on the source itself.

- Dependencies run one way: ``ui``, ``eval`` -> ``rag`` -> ``index``. The only upward edges are
  the ``rag`` CLI's subcommands importing ``ui`` and ``eval`` inside the command.
- No import cycles between modules, lazy imports included.
- Importing any module changes nothing outside it (no environment variables set).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("index", "rag", "ui", "eval")
ALLOWED = {
    "index": set(),
    "rag": {"index"},
    "ui": {"rag"},
    "eval": {"rag"},
}
"""Which other packages each package may import."""
LAZY_UPWARD = {("rag.cli", "ui"), ("rag.cli", "eval")}
"""(module, package) pairs allowed inside a function only: ``rag serve`` and ``rag eval``."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    module_name(p): p for package in PACKAGES for p in sorted((REPO / package).rglob("*.py"))
}


def resolve(name: str) -> str | None:
    """The project module an imported name lives in (None for third-party names)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> list[tuple[str, bool]]:
    """(imported project module, at module level?) for every import statement of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = set(map(id, tree.body))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        targets = {t for t in map(resolve, names) if t and t != module}
        # ``from pkg import mod`` names pkg.mod; drop the bare pkg when a submodule was meant.
        targets = {t for t in targets if not any(o.startswith(t + ".") for o in targets)}
        found += [(t, id(node) in top_level) for t in sorted(targets)]
    return found


GRAPH = {m: imports(m) for m in MODULES}


def test_every_package_is_found() -> None:
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES)
    assert "rag.pipeline" in MODULES and "index.passages" in MODULES


def test_dependencies_run_one_way() -> None:
    wrong = []
    for module, edges in GRAPH.items():
        source = module.split(".")[0]
        for target, at_top in edges:
            package = target.split(".")[0]
            if package == source or package in ALLOWED[source]:
                continue
            if (module, package) in LAZY_UPWARD and not at_top:
                continue
            wrong.append(f"{module} imports {target}")
    assert wrong == [], "imports against the layers ui/eval -> rag -> index:\n" + "\n".join(wrong)


def test_there_are_no_import_cycles() -> None:
    cycles = _cycles({m: {t for t, _ in edges} for m, edges in GRAPH.items()})
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checks_catch_what_they_guard_against() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert resolve("rag.answering.config.FEATURES") == "rag.answering.config"
    assert resolve("numpy.linalg") is None
    assert ("ui", True) not in {(t.split(".")[0], top) for t, top in GRAPH["rag.cli"]}
    assert ("ui.app", False) in GRAPH["rag.cli"]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_importing_sets_no_environment_variables() -> None:
    modules = sorted(MODULES)
    # Third-party imports may set their own variables: import them first, then compare ours.
    code = f"""
import importlib, json, os, sys
third_party = ["numpy", "faiss", "bm25s", "Stemmer", "tqdm", "gradio", "matplotlib"]
for name in third_party:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
before = dict(os.environ)
for name in {modules!r}:
    importlib.import_module(name)
after = dict(os.environ)
print(json.dumps({{k: after.get(k) for k in set(before) ^ set(after) | {{
    k for k in before if before[k] != after.get(k)}}}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
