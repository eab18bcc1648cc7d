"""Layers point one way (STYLE.md): every `r1pipe` import of the library and the stages, imports
inside functions included and the stage discovery counted as pipeline -> stages, goes to a lower
layer or stays in its own folder, no two folders import each other, and no file imports itself
back through others.

The layers are the folders (docs/DEVELOPERS.md, Layers). A new folder must be given its layer in
LAYER below; an import that runs up fails the test with its file and line."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Layer of each target place, lowest first: a module may import only its own place or lower ones.
ORDER = [
    "config",  # schema, problems, the per-section checks the stages call
    "run",  # the run-directory ground: rundir, fingerprint, context (stage contract), logs, interrupt, topology
    "rewards",
    "models",  # model and tokenizer loading, chat templates, prompt length
    "generation",
    "toy",
    "data",
    "training",
    "evaluation",
    "rejection",
    "stages",
    "pipeline",  # orchestrator, plan, stage process, launcher, status, whole-config validation, compose
    "report",
    "cli",
]
LAYER = {
    "config": 0, "run": 1, "rewards": 1, "models": 2, "generation": 3, "toy": 3, "data": 4, "training": 4,
    "evaluation": 5, "rejection": 5, "stages": 6, "pipeline": 7, "report": 8, "cli": 9,
}  # fmt: skip


def place(module: str) -> str:
    """The layer folder of a module (`r1pipe.x.y` -> x, `r1pipe.stages.z` -> stages, `r1pipe.cli`)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "r1pipe"


def module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "stages":
        parts = ["r1pipe", *parts]  # shipped as r1pipe.stages
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, int]]:
    """Every r1pipe module `path` imports (top level, in functions, under TYPE_CHECKING), with lines.
    `from r1pipe.x import name` counts as r1pipe.x.name when that is a module, else r1pipe.x."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("r1pipe")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("r1pipe"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.append((full if is_module(full) else node.module, node.lineno))
    return found


def is_module(name: str) -> bool:
    parts = name.split(".")[1:]
    base = ROOT / ("stages" if parts[:1] == ["stages"] else "r1pipe")
    rest = parts[1:] if parts[:1] == ["stages"] else parts
    return (
        base.joinpath(*rest).with_suffix(".py").is_file() or (base.joinpath(*rest) / "__init__.py").is_file()
    )


def library_files() -> list[Path]:
    return sorted([*(ROOT / "r1pipe").rglob("*.py"), *(ROOT / "stages").glob("*.py")])


def graph() -> dict[str, list[tuple[str, int]]]:
    """module -> the r1pipe modules it imports, with lines; the orchestrator's stage discovery
    (import_module of each stage, pipeline/stage_specs.py) as pipeline -> stages."""
    edges: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for path in library_files():
        edges[module_of(path)] += imports(path)
    edges["r1pipe.pipeline.stage_specs"] += [
        (f"r1pipe.stages.{p.stem}", 0) for p in (ROOT / "stages").glob("[!_]*.py")
    ]
    return edges


def upward(edges: dict[str, list[tuple[str, int]]]) -> set[tuple[str, str]]:
    """(importer, imported) pairs whose target place is above the importer's."""
    found = set()
    for importer, targets in edges.items():
        for target, _ in targets:
            a, b = place(importer), place(target)
            if a in LAYER and b in LAYER and LAYER[b] > LAYER[a]:
                found.add((importer, target))
    return found


def test_no_import_runs_up():
    found = sorted(upward(graph()))
    assert not found, "imports that run up a layer (move the helper down, or the file up):\n" + "\n".join(
        f"  {a} -> {b} ({place(a)} -> {place(b)})" for a, b in found
    )


def test_no_two_places_import_each_other():
    """Places on one layer (run and rewards, generation and toy, data and training, evaluation
    and rejection) may import one another, but never both ways."""
    arrows = {(place(a), place(b)) for a, targets in graph().items() for b, _ in targets}
    both = sorted({tuple(sorted(pair)) for pair in arrows if pair[0] != pair[1] and pair[::-1] in arrows})
    assert not both, f"places that import each other: {both}"


def test_an_upward_import_is_caught(tmp_path):
    """The test can fail: a rewards module importing the orchestrator is named."""
    edges = {"r1pipe.rewards.accuracy": [("r1pipe.pipeline.orchestrator", 3)]}
    assert upward(edges) == {("r1pipe.rewards.accuracy", "r1pipe.pipeline.orchestrator")}
    assert upward({"r1pipe.pipeline.orchestrator": [("r1pipe.rewards.accuracy", 3)]}) == set()


def test_no_file_imports_itself_back():
    edges = {m: {t for t, _ in ts if t != m} for m, ts in graph().items()}
    seen: dict[str, int] = {}
    circle: list[str] = []

    def visit(module: str, trail: list[str]) -> None:
        if circle:
            return
        seen[module] = 1
        for target in sorted(edges.get(module, ())):
            if seen.get(target) == 1:
                circle.extend(
                    [*trail[trail.index(target) :], target] if target in trail else [module, target]
                )
                return
            if target not in seen:
                visit(target, [*trail, target])
        seen[module] = 2

    for module in sorted(edges):
        if module not in seen:
            visit(module, [module])
    assert not circle, "files that import each other in a loop: " + " -> ".join(circle)


@pytest.mark.parametrize("module", ["r1pipe.run.rundir", "r1pipe.models.loading", "r1pipe.stages.cold_start"])
def test_places_are_read_from_the_table(module):
    assert place(module) in LAYER


def test_every_folder_has_a_layer():
    """A new folder under r1pipe/ is given its place in LAYER (and in docs/DEVELOPERS.md's table)."""
    folders = {p.parent.name for p in (ROOT / "r1pipe").glob("*/__init__.py")} | {"stages"}
    assert not folders - set(LAYER), f"folders without a layer in LAYER: {sorted(folders - set(LAYER))}"
    assert not set(ORDER) - folders - {"cli"}, (
        f"layers with no folder: {sorted(set(ORDER) - folders - {'cli'})}"
    )
