"""The package's layering, read from the source: every import statement that runs (module level
or inside functions; not the annotation-only ones under ``if TYPE_CHECKING:``) of every module
under src/upclens, resolved to the unit it names, must point to the same or a lower layer, and
the units must not import each other in a cycle.  docs/architecture.md gives the layers and why
each unit sits where it does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "upclens"

LAYERS: tuple[tuple[str, ...], ...] = (
    # helpers at the bottom: no physics, importable from everywhere
    ("__init__", "errors", "io", "argtypes", "lazy", "plots", "report", "stages", "reference"),
    ("physics",),
    ("data",),
    ("learn", "information", "observables", "compare", "compare_incoherent"),
    ("explain",),
    ("pipeline", "ladder"),
    ("cli",),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str | None:
    """The layer unit of a dotted module name inside upclens (None: outside the package)."""
    parts = module.split(".")
    if parts[0] != "upclens":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """Dotted name of the module in file ``path`` of the package folder ``root``."""
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _run_time_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def imported_modules(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file ``path``, relative ones
    resolved against its package; ``from X import name`` counts as X.name when that is a
    module (so ``from upclens import plots`` names plots)."""
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in _run_time_nodes(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                where = root.parent / Path(*sub.split("."))
                is_module = where.with_suffix(".py").exists() or where.is_dir()
                out.append((node.lineno, sub if is_module else base))
    return out


def import_edges(root: Path = PACKAGE) -> list[tuple[str, int, str, str]]:
    """(file, line, importing unit, imported unit) for every import between two units."""
    edges = []
    for path in sorted(root.rglob("*.py")):
        src = unit_of(module_name(path, root))
        for line, target in imported_modules(path, root):
            dst = unit_of(target)
            if dst is not None and src is not None and dst != src:
                edges.append((str(path.relative_to(root.parent)), line, src, dst))
    return edges


def violations(edges: list[tuple[str, int, str, str]]) -> list[str]:
    """One line per import of a higher layer (or of a unit missing from LAYERS)."""
    bad = []
    for file, line, src, dst in edges:
        if src not in RANK or dst not in RANK:
            bad.append(f"{file}:{line}: {src} -> {dst}: unit not in LAYERS")
        elif RANK[dst] > RANK[src]:
            bad.append(f"{file}:{line}: {src} (layer {RANK[src]}) imports {dst} "
                       f"(layer {RANK[dst]})")
    return bad


def cycles(edges: list[tuple[str, int, str, str]]) -> list[list[str]]:
    """Cycles of the unit graph (depth-first search; each cycle once per starting unit)."""
    graph: dict[str, set[str]] = {}
    for _, _, src, dst in edges:
        graph.setdefault(src, set()).add(dst)
    found = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                found.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return found


def test_every_unit_of_the_package_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert units - set(RANK) == set()


def test_no_layer_imports_a_higher_one():
    edges = import_edges()
    assert len(edges) > 50  # the walk sees the package's imports
    assert violations(edges) == []


def test_no_import_cycle_between_units():
    assert cycles(import_edges()) == []


def test_the_walk_catches_an_upward_import_and_a_cycle(tmp_path):
    """A copy of a lower module made to import a higher one is reported, with its line."""
    pkg = tmp_path / "upclens"
    for unit, body in (("physics", "from upclens.pipeline import run_study\n"),
                       ("data", "def f():\n    import upclens.learn.training\n"),
                       ("pipeline", "from upclens.ladder import run\n"),
                       ("ladder", "from ..pipeline import plan\n"),
                       ("learn", ""),
                       ("explain", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from upclens.ladder import run\n")):
        (pkg / unit).mkdir(parents=True)
        (pkg / unit / "__init__.py").write_text(body)
    (pkg / "__init__.py").write_text("")
    (pkg / "ladder" / "run.py").write_text("")
    (pkg / "pipeline" / "plan.py").write_text("")
    (pkg / "learn" / "training.py").write_text("")
    edges = import_edges(pkg)
    found = violations(edges)
    assert any("physics/__init__.py:1: physics (layer 1) imports pipeline" in v for v in found)
    assert any("data/__init__.py:2: data (layer 2) imports learn" in v for v in found)
    assert cycles(edges) == [["ladder", "pipeline", "ladder"]]
    assert not any("explain" in v for v in found)  # annotations only: not an import at run time
    assert len(found) == 2


@pytest.mark.parametrize("unit", ["physics", "data", "learn", "information", "observables",
                                  "explain", "pipeline", "ladder"])
def test_each_stage_package_declares_its_public_names(unit):
    tree = ast.parse((PACKAGE / unit / "__init__.py").read_text())
    names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
             if isinstance(t, ast.Name)]
    assert "__all__" in names


def test_physics_names_resolve_and_one_module_stays_light():
    import importlib
    import subprocess
    import sys

    physics = importlib.import_module("upclens.physics")
    for name in physics.__all__:
        assert getattr(physics, name).__module__.startswith("upclens.physics.")
    code = ("import sys; from upclens.physics.settings import ImageGrid; "
            "print('scipy' in sys.modules, 'upclens.physics.image' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False False"
