"""Check that pixelfes imports point down a declared layer order, with no cycles, and small modules.

Every ``import`` and ``from ... import`` in ``src/pixelfes`` counts, at module level or
inside a function (a lazy import is still an arrow); only imports under
``if TYPE_CHECKING:`` are left out, since they never run. An arrow from a module to a
module of a higher layer is reported, and so is every cycle between modules (strongly
connected components of the import graph), whatever their layers. A module longer than
:data:`MAX_LINES` lines is reported too, unless it is listed in :data:`LONG_MODULES`.

Usage: ``python scripts/check_layers.py [SRC_DIR]``; exit status 0 when clean, 1 with
one line per problem otherwise. The layer order is :data:`LAYERS` (see
docs/architecture.md); a new module must match one of its prefixes.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = "pixelfes"

#: Layers, lowest first; a module belongs to the layer of its longest matching prefix.
#: A module may import its own layer and the layers below it, never a layer above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "pixelfes",  # the package root: the version and a lazy facade (importlib only)
            "pixelfes.exceptions",
            "pixelfes.config",
            "pixelfes.atomic",
            "pixelfes.expressions",
            "pixelfes.formats",
            "pixelfes.colour",
        ),
    ),
    ("io", ("pixelfes.imageio", "pixelfes.figures")),
    ("models", ("pixelfes.models",)),
    ("export", ("pixelfes.export",)),  # fitted models to ONNX
    ("photometric", ("pixelfes.photometric",)),
    ("faces", ("pixelfes.faces",)),
    ("metrics", ("pixelfes.metrics",)),
    ("data", ("pixelfes.data",)),
    ("pretrained", ("pixelfes.pretrained",)),
    (
        "training",
        (
            "pixelfes.training",
            "pixelfes.kernel_selection",
            "pixelfes.geometric",
            "pixelfes.editing",
            "pixelfes.bundled",
        ),
    ),
    ("pipelines", ("pixelfes.video", "pixelfes.batch", "pixelfes.cluster", "pixelfes.streaming")),
    ("evaluation", ("pixelfes.evaluation", "pixelfes.baselines")),
    ("interfaces", ("pixelfes.cli", "pixelfes.app", "pixelfes.__main__")),
)


#: Longest module allowed, in lines.
MAX_LINES = 500
#: Modules allowed over MAX_LINES for now, each with the issue that splits it.
LONG_MODULES: dict[str, str] = {}


def module_name(path: Path, src: Path) -> str:
    """Dotted module name of a file under ``src`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement below ``node``, skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes_in(other)
            continue
        yield from _import_nodes_in(child)


def _import_nodes_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _import_nodes(node)


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The project modules ``path`` (module ``name``) imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import sub" imports the submodule when there is one.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved is not None and resolved != name:
                found.add(resolved)
    return found


def _resolve(target: str, modules: set[str]) -> str | None:
    """The longest project module that ``target`` names (None for third-party imports)."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def layer_of(module: str) -> int | None:
    """Index in :data:`LAYERS` of the layer ``module`` belongs to (longest prefix)."""
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # The package root names itself only, not every module below it.
            below = prefix != ROOT and module.startswith(prefix + ".")
            matches = module == prefix or below
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def module_files(src: Path) -> dict[str, Path]:
    """Module name -> file, for every ``.py`` under ``src/pixelfes``."""
    return {module_name(p, src): p for p in sorted((src / ROOT).rglob("*.py"))}


def import_graph(src: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports, for every ``.py`` under ``src/pixelfes``."""
    files = module_files(src)
    modules = set(files)
    return {name: imports_of(path, name, modules) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
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
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
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
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def problems(src: Path) -> list[str]:
    """Every upward arrow, unlayered module, import cycle and long module, one line each."""
    graph = import_graph(src)
    lines = []
    for module in sorted(graph):
        layer = layer_of(module)
        if layer is None:
            lines.append(f"no layer: {module} (add it to LAYERS in scripts/check_layers.py)")
            continue
        for target in sorted(graph[module]):
            target_layer = layer_of(target)
            if target_layer is not None and target_layer > layer:
                lines.append(
                    f"upward: {module} ({LAYERS[layer][0]}) imports {target} "
                    f"({LAYERS[target_layer][0]})"
                )
    for component in cycles(graph):
        lines.append(f"cycle: {' <-> '.join(component)}")
    for module, path in module_files(src).items():
        length = len(path.read_text(encoding="utf-8").splitlines())
        if length > MAX_LINES and module not in LONG_MODULES:
            lines.append(f"too long: {module} has {length} lines (at most {MAX_LINES})")
    return lines


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "src"
    found = problems(src)
    for line in found:
        print(line)
    graph = import_graph(src)
    print(
        f"{len(graph)} modules, {sum(map(len, graph.values()))} imports, {len(found)} problem(s)",
        file=sys.stderr,
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
