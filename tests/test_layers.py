"""Imports point down the layers of docs/architecture.md, no two modules import each other,
and no module is over MAX_MODULE_LINES lines.

Read from the source with `ast` (no import runs), so an import inside a function counts like
one at the top: it hides a dependency from the reader, not from this check. Imports under
`if TYPE_CHECKING:` are skipped (they never run). `python tests/test_layers.py` prints the
figures (arrows pointing up, cycles, largest modules) and every violation.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer and the layers below; `tenants` may
# import no project package at all (Django, psycopg, the standard library and third-party
# packages, and the settings through django.conf, are not project packages).
WIRING, CONSOLE, PRODUCT, TENANCY = 4, 3, 2, 1
LAYER_NAMES = {WIRING: "wiring", CONSOLE: "console", PRODUCT: "product", TENANCY: "tenancy"}
# `api` is the shared API plumbing (authentication, permissions, the error envelope,
# pagination): product apps build their APIs on it, so it sits in their layer. The URL conf
# that gathers every app's API views is wiring (saas/urls_api.py).
PRODUCT_APPS = (
    "accounts",
    "api",
    "audit",
    "billing",
    "domains",
    "idempotency",
    "jobs",
    "observability",
    "projects",
    "webhooks",
)
# Project wiring and the two consumers of everything.
WIRING_PACKAGES = ("saas", "benchmarks", "tests", "scripts", "manage", "gunicorn_conf")
SKIP_DIRS = {".venv", ".git", ".data", "node_modules", "static", "templates", "docs", "media"}

# Every known violation, with the reason it stands. The list only shrinks: a new arrow
# pointing up, or a new cycle, fails the test; so does an entry that no longer happens.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}

# Import cycles (the modules of one strongly connected component), each with its reason.
KNOWN_CYCLES: dict[frozenset[str], str] = {}

# A module a newcomer reads in one sitting: at most this many lines (migrations and tests
# aside). Larger ones are split by subject, or listed here with the reason they stay whole.
MAX_MODULE_LINES = 400
KNOWN_LARGE_MODULES: dict[str, str] = {}


def layer_of(module: str) -> int | None:
    top = module.split(".")[0]
    if top in WIRING_PACKAGES:
        return WIRING
    if top == "operators":
        return CONSOLE
    if top in PRODUCT_APPS:
        return PRODUCT
    if top == "tenants":
        return TENANCY
    return None


def project_modules() -> dict[str, Path]:
    """Dotted name → file, for every Python file of the repository."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts[:-1]):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts:
            parts[-1] = parts[-1].replace(".", "_")  # gunicorn.conf.py
            modules[".".join(parts)] = path
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of `name` that is a project module."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import submodule` imports the submodule; `from mod import name` the module.
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        else:
            continue
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def violations(graph: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """Every (importer, imported) pair whose arrow points up, with the rule it breaks."""
    found = {}
    for src, targets in graph.items():
        src_layer = layer_of(src)
        for dst in targets:
            dst_layer = layer_of(dst)
            if src_layer is None or dst_layer is None:
                continue
            if src_layer == TENANCY and dst_layer != TENANCY:
                found[(src, dst)] = "tenants imports a project package"
            elif dst_layer > src_layer:
                found[(src, dst)] = (
                    f"{LAYER_NAMES[src_layer]} imports {LAYER_NAMES[dst_layer]} (above it)"
                )
    return found


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    result.append(frozenset(component))
    return result


def package_arrows(graph: dict[str, set[str]]) -> tuple[set, set]:
    """Arrows between top-level folders, and those pointing up."""

    def folder(module):
        return module.split(".")[0]

    arrows, up = set(), set()
    for (src, dst), _ in violations(graph).items():
        up.add((folder(src), folder(dst)))
    for src, targets in graph.items():
        for dst in targets:
            if folder(src) != folder(dst):
                arrows.add((folder(src), folder(dst)))
    return arrows, up


def module_sizes() -> dict[str, int]:
    """Lines per module, migrations and tests left out (the size rule is for the code)."""
    return {
        module: len(path.read_text().splitlines())
        for module, path in project_modules().items()
        if ".migrations." not in f".{module}." and module.split(".")[0] != "tests"
    }


def largest_modules(count: int = 10) -> list[tuple[int, str]]:
    sizes = [
        (len(path.read_text().splitlines()), module)
        for module, path in project_modules().items()
        if ".migrations." not in f".{module}."
    ]
    return sorted(sizes, reverse=True)[:count]


def test_every_project_package_has_a_layer():
    unplaced = sorted({m.split(".")[0] for m in project_modules() if layer_of(m) is None})
    assert not unplaced, f"give these packages a layer in tests/test_layers.py: {unplaced}"


def test_imports_point_down_the_layers():
    found = violations(import_graph())
    new = {pair: rule for pair, rule in found.items() if pair not in KNOWN_VIOLATIONS}
    gone = sorted(pair for pair in KNOWN_VIOLATIONS if pair not in found)
    assert not new, "imports pointing up (fix them, or justify each in KNOWN_VIOLATIONS):\n" + (
        "\n".join(f"  {s} → {d}: {rule}" for (s, d), rule in sorted(new.items()))
    )
    assert not gone, f"fixed, remove from KNOWN_VIOLATIONS: {gone}"


def test_no_import_cycles():
    found = set(cycles(import_graph()))
    new = [c for c in found if c not in KNOWN_CYCLES]
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not new, "import cycles (also through imports inside functions):\n" + "\n".join(
        "  " + " ↔ ".join(sorted(c)) for c in new
    )
    assert not gone, f"fixed, remove from KNOWN_CYCLES: {gone}"


def test_no_module_is_over_the_size_limit():
    sizes = module_sizes()
    large = {m: n for m, n in sizes.items() if n > MAX_MODULE_LINES}
    new = {m: n for m, n in large.items() if m not in KNOWN_LARGE_MODULES}
    gone = sorted(m for m in KNOWN_LARGE_MODULES if m not in large)
    assert not new, (
        f"modules over {MAX_MODULE_LINES} lines (split them by subject, or give the reason "
        "in KNOWN_LARGE_MODULES):\n" + "\n".join(f"  {m}: {n}" for m, n in sorted(new.items()))
    )
    assert not gone, f"no longer over the limit, remove from KNOWN_LARGE_MODULES: {gone}"


def test_the_check_reads_imports_inside_functions_and_finds_cycles(tmp_path):
    source = tmp_path / "models.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from projects.models import Project\n"
        "def plan():\n"
        "    from billing.models import Plan\n"
        "    from . import context\n"
    )
    modules = {m: source for m in ("tenants.models", "tenants.context", "billing.models")}
    modules["projects.models"] = source
    assert imports_of("tenants.models", source, modules) == {"billing.models", "tenants.context"}
    graph = {"tenants.models": {"billing.models"}, "billing.models": {"tenants.models"}}
    assert violations(graph) == {
        ("tenants.models", "billing.models"): "tenants imports a project package"
    }
    assert cycles(graph) == [frozenset(graph)]
    assert violations({"operators.views": {"api.views"}, "api.views": set()}) == {}
    assert set(violations({"projects.api": {"saas.celery"}, "saas.celery": set()})) == {
        ("projects.api", "saas.celery")
    }


def report() -> str:
    graph = import_graph()
    arrows, up = package_arrows(graph)
    found, loops, sizes = violations(graph), cycles(graph), largest_modules()
    lines = [
        f"arrows between top-level packages: {len(arrows)}, pointing up: {len(up)}",
        *(f"  {s} → {d}" for s, d in sorted(up)),
        f"module imports pointing up: {len(found)}",
        *(f"  {s} → {d}  ({rule})" for (s, d), rule in sorted(found.items())),
        f"import cycles: {len(loops)}",
        *("  " + " ↔ ".join(sorted(c)) for c in loops),
        f"modules over {MAX_MODULE_LINES} lines (tests aside): "
        f"{sum(1 for n in module_sizes().values() if n > MAX_MODULE_LINES)}",
        *(f"  {n:5d} {m}" for n, m in sizes),
        "arrows up per importing package: "
        + ", ".join(f"{k} {v}" for k, v in Counter(s for s, _ in up).most_common()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(report() + "\n")
