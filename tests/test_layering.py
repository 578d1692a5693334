"""The layout the architecture describes: imports flow one way (demo → admin_app → audit → meetings →
provisioning → core → config; services beside core), no module imports another in a circle (imports inside
functions count), and no module outgrows 400 lines (migrations aside)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("admin_app", "audit", "config", "core", "demo", "meetings", "provisioning", "services")
FORBIDDEN = {
    "admin_app": {"demo"},
    "audit": {"admin_app", "demo", "flask"},
    "meetings": {"audit", "admin_app", "demo", "flask"},
    "provisioning": {"meetings", "audit", "admin_app", "demo", "flask"},
    "core": {"provisioning", "meetings", "audit", "admin_app", "demo", "services", "flask"},
    "services": {"provisioning", "meetings", "audit", "admin_app", "demo", "core", "flask"},
    "config": {"core", "provisioning", "meetings", "audit", "admin_app", "demo", "services", "flask"},
}
MAX_LINES = 400


def sources() -> dict[str, Path]:
    """Module name → file, for every module of the project's packages."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``path`` imports, anywhere in the file (a function-level import is still an import)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in modules:
                    found.add(candidate)  # `from package import module`
                    if node.module in modules:
                        found.add(node.module)  # …which runs the package's __init__ first, a dependency too
                elif node.module in modules:
                    found.add(node.module)
    return found


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_flows_back(package: str) -> None:
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        bad = imported_packages(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, offenders


def test_no_module_imports_itself_in_a_circle() -> None:
    modules = sources()
    graph = {name: imports_of(path, modules) - {name} for name, path in modules.items()}
    # Tarjan's strongly connected components: any component of more than one module is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    assert circles == []


def test_no_module_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in sources().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
