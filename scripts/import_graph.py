"""Print the import graph between stanceframe's layers and fail on an import that breaks a layer.

    python scripts/import_graph.py        # exit 1 and the offending imports when a rule is broken

Every import counts, including the ones inside functions (lazy imports break layers too).
The layers (docs/architecture.md): the base (stanceframe/*.py but the CLI, the service and the
package facade) reads nothing above it; training/ and model/ read only the base; eval/ may read
training/ and model/; the CLI, the service and the facade sit on top.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FOLDERS = {
    "training": "training",
    "model": "model",
    "eval": "eval",
    "data": "data",
    "annotation": "annotation",
}
TOP = {"cli", "server", "__init__", "__main__", "batcher"}
ALLOWED = {
    "base": {"base"},
    "data": {"data"},
    "training": {"base", "data", "training"},
    "model": {"base", "data", "model"},
    "eval": {"base", "data", "training", "model", "eval"},
    "annotation": {"base", "data", "training", "model", "annotation"},
    "top": {"base", "data", "training", "model", "eval", "annotation", "top"},
}


def layer_of_module(module: str) -> str | None:
    """stanceframe.training.data -> training; stanceframe.errors -> base; others None."""
    parts = module.split(".")
    if parts[0] != "stanceframe":
        return None
    if len(parts) == 1:
        return "top"
    if parts[1] in FOLDERS:
        return parts[1]
    return "top" if parts[1] in TOP else "base"


def source_files() -> dict[Path, str]:
    files = {path: "stanceframe." + path.stem for path in (REPO / "stanceframe").glob("*.py")}
    for package, folder in FOLDERS.items():
        for path in (REPO / folder).rglob("*.py"):
            files[path] = f"stanceframe.{package}." + path.stem
    return files


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "stanceframe":
            # `from stanceframe import training`: the names are the modules
            found += [(node.lineno, f"stanceframe.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def layer_edges(
    files: dict[Path, str] | None = None,
) -> tuple[dict[tuple[str, str], int], list[str]]:
    """Counts of imports between layers, and the imports that break the rules."""
    edges: dict[tuple[str, str], int] = defaultdict(int)
    broken = []
    for path, module in sorted((files or source_files()).items()):
        source = layer_of_module(module)
        for line, imported in imported_modules(path):
            target = layer_of_module(imported)
            if target is None or imported == "stanceframe":
                continue
            edges[(source, target)] += 1
            if target not in ALLOWED[source]:
                where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
                broken.append(f"{where}:{line}: {source} imports {imported}")
    return dict(edges), broken


def main() -> int:
    edges, broken = layer_edges()
    for (source, target), count in sorted(edges.items()):
        if source != target:
            print(f"{source:>8} -> {target:<8} {count} imports")
    for line in broken:
        print("BROKEN", line)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
