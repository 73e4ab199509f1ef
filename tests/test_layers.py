"""The house: every import arrow between slmswap's rooms points down the plan below, and no files import each other
in a circle. ``pytest tests/test_layers.py`` shows the module graph's breaches, if any."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "slmswap"

PLAN: list[tuple[str, list[str]]] = [
    (
        "the typed core and low helpers",
        ["_version", "errors", "_json", "_files", "_memory", "_display", "_threads", "validation"],
    ),
    ("", ["schema", "models", "rendering"]),
    ("formats, masks, scoring, loaders", ["formats", "templates", "metrics", "data"]),
    ("the trained-model artefact", ["trained"]),
    ("the jobs", ["evaluation", "serving", "train", "gateway", "live", "curation"]),
    ("checks and shells", ["doctor", "demo", "bakeoff", "cli", "__main__", "slmswap"]),
]
"""Rooms from the ground up; a room may import only rooms listed before it (within a floor, in the order given)."""

ORDER = [room for _, rooms in PLAN for room in rooms]


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every slmswap module ``path`` imports, at module level or inside a function (a lazy import is still one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] == "slmswap"}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "slmswap"


GRAPH = {_module(path): _imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_room_is_in_the_plan() -> None:
    assert sorted({_room(module) for module in GRAPH} - set(ORDER)) == []


def test_every_arrow_between_rooms_points_down() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _room(target) != _room(module) and ORDER.index(_room(target)) > ORDER.index(_room(module))
    )
    assert upward == []


def test_no_files_import_each_other_in_a_circle() -> None:
    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(t for t in GRAPH.get(node, ()) if t in GRAPH)
        return False

    circles = sorted(
        f"{module} <-> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if target in GRAPH and target != module and not target.startswith(f"{module}.") and reaches(target, module)
    )
    assert circles == []
