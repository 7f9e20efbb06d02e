"""Runtime and development requirements are split; the production image carries only the runtime."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY = {  # distribution -> the module it provides
    "pytest": "pytest",
    "pytest-django": "pytest_django",
    "pytest-xdist": "xdist",
    "factory_boy": "factory",
    "playwright": "playwright",
    "schemathesis": "schemathesis",
    "matplotlib": "matplotlib",
    "ruff": "ruff",
    "django-tenants": "django_tenants",
    "pgserver": "pgserver",
    "standardwebhooks": "standardwebhooks",
}
# Code that ships in the image but runs only in development or measurement.
NOT_RUNTIME = {"tests", "benchmarks", ".venv", ".data", "artifacts", "node_modules"}


def _names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>\[ ]", line, maxsplit=1)[0].lower())
    return names


def test_runtime_requirements_hold_no_tooling():
    runtime = _names(ROOT / "requirements.txt")
    assert not runtime & set(DEV_ONLY), runtime & set(DEV_ONLY)
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev
    assert set(DEV_ONLY) <= _names(ROOT / "requirements-dev.txt")


def test_image_installs_only_the_runtime():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert "requirements-dev" not in dockerfile


def test_install_stamp_covers_both_files():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): requirements\.txt requirements-dev\.txt$", makefile, re.M)
    assert "cat requirements.txt requirements-dev.txt | sha1sum" in makefile


def test_runtime_code_imports_no_dev_package_at_module_level():
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in NOT_RUNTIME:
            continue
        for node in ast.parse(path.read_text()).body:  # module level only: lazy imports are fine
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                mods = [node.module]
            else:
                continue
            offenders += [f"{rel}: {m}" for m in mods if m.split(".")[0] in DEV_ONLY.values()]
    assert offenders == []
