"""The import graph of sim/ runs one way (DESIGN.md, STYLE.md): every import, function-local ones
included, goes from a stage to one below it, and no two modules import each other."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

# Stages in order; each may import only the stages listed for it.
BASE = {"base"}
BELOW = {
    "base": set(),  # errors, schema, yamlfile, paths, limits, validate, outdir, guard, progress: what every stage uses
    "kernels": set(),
    "workload": BASE | {"kernels"},
    "hardware": BASE,
    "execution": BASE | {"kernels", "workload", "hardware"},
    "engine": BASE | {"kernels", "workload", "hardware", "execution"},
    "report": BASE | {"kernels", "workload", "hardware", "execution", "engine"},
    "compression": BASE | {"kernels", "workload", "report"},  # its plots share report/style.py
}
BELOW["api"] = set(BELOW) | {"compression"}
BELOW["sweep"] = BELOW["api"] | {"api"}
BELOW["commands"] = BELOW["sweep"] | {"sweep"}
BELOW["cli"] = BELOW["commands"] | {"commands"}
BELOW["facade"] = BELOW["cli"] | {"cli"}
EXECUTION = {"sim.execution.execute", "sim.execution.reference", "sim.execution.profile", "sim.execution.tensor_exec",
             "sim.execution.tensor_ops"}  # kernels + WorkProfile
# Besides the standard library. llvmlite is numba's code generator (kernels/simd.py reads the
# target's vector width from it); hardware/energy.py interpolates its node-scaling table with numpy.
THIRD_PARTY = {"kernels": {"numpy", "numba", "llvmlite"}, "hardware": {"yaml", "numpy"}}


def stage(module: str) -> str:
    parts = module.split(".")
    if module in ("sim", "sim.__main__"):
        return "facade"
    if module in EXECUTION:
        return "execution"
    if parts[1] in ("errors", "schema", "yamlfile", "paths", "limits", "validate", "outdir", "guard", "progress"):
        return "base"
    if parts[1] in ("run", "api", "sensitivity"):  # sim.sensitivity is part of the API (DESIGN.md)
        return "api"
    return parts[1]


def module_name(path: Path) -> str:
    rel = path.relative_to(SIM.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    base = SIM.parent.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(sim modules imported, other top-level packages imported), every import in the file."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    inner, outer = set(), set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # ``if TYPE_CHECKING:`` imports are for annotations only; they never run
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names = [f"{target}.{a.name}" if is_module(f"{target}.{a.name}") else target for a in node.names]
        else:
            continue
        for name in names:
            if name == "__future__":
                continue
            if name == "sim" or name.startswith("sim."):
                while not is_module(name):
                    name = name.rpartition(".")[0]
                inner.add(name)
            else:
                outer.add(name.split(".")[0])
    inner.discard(module)
    return inner, outer


def _is_type_checking(test) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


GRAPH = {module_name(p): imports_of(p) for p in sorted(SIM.rglob("*.py"))}


def test_the_walk_sees_every_stage_and_function_local_imports():
    assert {stage(m) for m in GRAPH} >= set(BELOW) - {"facade"}
    # sim.cli's parser imports the commands; sim.api imports sim.run; local imports are edges too
    assert "sim.commands" in GRAPH["sim.cli"][0] and "sim.run" in GRAPH["sim.api"][0]


def test_imports_only_go_down_the_stages():
    upward = [f"{m} ({stage(m)}) imports {t} ({stage(t)})" for m, (inner, _) in GRAPH.items() for t in sorted(inner)
              if stage(t) != stage(m) and stage(t) not in BELOW[stage(m)]]
    assert not upward, "\n".join(upward)


def test_nothing_below_the_cli_imports_it():
    users = [m for m, (inner, _) in GRAPH.items() if "sim.cli" in inner and stage(m) != "facade"]
    assert not users


@pytest.mark.parametrize("group", sorted(THIRD_PARTY))
def test_kernels_and_hardware_import_little(group):
    allowed = THIRD_PARTY[group] | set(sys.stdlib_module_names)
    extra = {m: sorted(outer - allowed) for m, (_, outer) in GRAPH.items() if stage(m) == group and outer - allowed}
    assert not extra
    if group == "kernels":
        assert not [m for m, (inner, _) in GRAPH.items() if stage(m) == group and
                    any(stage(t) != "kernels" for t in inner)]


def test_no_import_cycles():
    """No module reaches itself by following imports (Tarjan's strongly connected components)."""
    edges = {m: [t for t in inner if t in GRAPH] for m, (inner, _) in GRAPH.items()}
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for v in edges:
        if v not in index:
            visit(v)
    assert not cycles, cycles
