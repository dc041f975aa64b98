"""The sandbox's place in the layout: no import cycles inside it, and nothing of the product
imports it (the app talks to it over HTTP like to SendGrid; bench uses only its public API).

Imports are read with `ast`, so those under `if TYPE_CHECKING:` and inside functions count too.
"""

from __future__ import annotations

import ast
import graphlib
import re
from collections.abc import Iterator
from pathlib import Path

import bounceadmin.sandbox
from tests.support import REPO

ROOT = REPO
PACKAGE = "bounceadmin.sandbox"
SANDBOX_DIR = ROOT / "bounceadmin" / "sandbox"
MODULE_PATH = re.compile(r"bounceadmin\.sandbox(\.\w+)*")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, as a dotted name (`from p import m` yields `p.m` when m is a
    module of the repository, else `p`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if _is_module(submodule) else base


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _sandbox_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SANDBOX_DIR.glob("*.py")}
    return {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}


def test_sandbox_modules_import_each_other_without_cycles() -> None:
    graph = _sandbox_graph()
    assert len(graph) > 5  # the glob found the package
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle in the sandbox: {' -> '.join(exc.args[1])}") from None


def test_sandbox_store_and_controls_stand_alone() -> None:
    # The two cycles this layout removed: the store knows nothing of the demo data, the
    # controls nothing of the server that routes to them.
    graph = _sandbox_graph()
    assert f"{PACKAGE}.demo" not in graph[f"{PACKAGE}.store"]
    assert f"{PACKAGE}.server" not in graph[f"{PACKAGE}.control"]


def test_nothing_in_the_product_imports_the_sandbox() -> None:
    offenders = []
    for path in (ROOT / "bounceadmin").rglob("*.py"):
        if SANDBOX_DIR in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        imported = [m for m in _imports(path) if MODULE_PATH.fullmatch(m)]
        # Dotted paths in strings too (INSTALLED_APPS, import_module, mock targets).
        named = [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and MODULE_PATH.fullmatch(node.value)
        ]
        offenders += [f"{path.relative_to(ROOT)}: {m}" for m in [*imported, *named]]
    assert offenders == []


def test_bench_uses_only_the_sandbox_public_api() -> None:
    public = set(bounceadmin.sandbox.__all__)
    offenders = []
    for path in [*(ROOT / "bench").rglob("*.py"), ROOT / "scripts" / "test-services"]:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith(PACKAGE + ".")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                private = node.module != PACKAGE
                names = [a.name for a in node.names if private or a.name not in public]
            else:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names]
    assert offenders == []
