"""The folder rules of the package, checked on the imports themselves (ast), so a new import that runs back up a
layer or closes a circle between folders fails here instead of in a review.

Floors, lowest first: a module may import its own folder and any lower floor, never its own floor's other folders
or a higher one. That also rules out every circle between folders.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "facedaemon"

FLOORS: dict[str, int] = {
    # bottom: named helpers anyone may use
    "redact": 0, "atomic_file": 0, "safe_path": 0, "logs": 0, "yuv": 0,
    "config": 1, "children": 1,
    # face math, frame sources, the metrics registry
    "faces": 2, "sources": 2, "metrics": 2,
    # drawing, the two file-tree contracts (runtime_dir, faces_dir), presence events
    "annotate": 3, "runtime": 3, "gallery": 3, "events": 3, "history": 3,
    # the three things the daemon runs: encoders/RTSP, the recognition worker, each camera's pipeline
    "outputs": 4, "worker": 4, "pipeline": 4,
    # the processes' tops
    "daemon": 5, "web": 5, "identify": 5,
    "bench": 6, "__main__": 7,
}
BOTTOM = {name for name, floor in FLOORS.items() if floor == 0}
WEB_MAY_IMPORT = {"config", "gallery", "history", "runtime"} | BOTTOM  # never worker/, pipeline/ or outputs/
NOT_FROM_PIPELINE = {"worker"}  # the pipeline reaches recognition through its Recognizer protocol
DAEMON_IMPORTED_ONLY_BY = {"__main__", "bench"}


def folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports(package: Path) -> list[tuple[str, int, str, str]]:
    """(file, line, from folder, to folder) for every import of the package's own modules, local ones included."""
    found = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        source = folder(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == package.name:
                targets = ([f"{node.module}.{alias.name}" for alias in node.names] if node.module == package.name
                           else [node.module])
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names if alias.name.split(".")[0] == package.name]
            else:
                continue
            found += [(str(path.relative_to(package.parent)), node.lineno, source, folder(target))
                      for target in targets if folder(target) != source]
    return found


def violations(package: Path) -> list[str]:
    problems = []
    for file, line, source, target in imports(package):
        where = f"{file}:{line}: {source} imports {target}"
        if source not in FLOORS or target not in FLOORS:
            problems.append(f"{where}: give the new folder a floor in tests/unit/test_layers.py")
        elif FLOORS[target] >= FLOORS[source]:
            problems.append(f"{where}: floor {FLOORS[source]} may only import lower floors (got {FLOORS[target]})")
        if source == "web" and target not in WEB_MAY_IMPORT:
            problems.append(f"{where}: the web imports only {', '.join(sorted(WEB_MAY_IMPORT))}")
        if source == "pipeline" and target in NOT_FROM_PIPELINE:
            problems.append(f"{where}: the pipeline reaches recognition through its Recognizer protocol")
        if target == "daemon" and source not in DAEMON_IMPORTED_ONLY_BY:
            problems.append(f"{where}: only {', '.join(sorted(DAEMON_IMPORTED_ONLY_BY))} import daemon/")
    return problems


def test_the_package_keeps_its_layers() -> None:
    assert violations(PACKAGE) == []


def test_every_folder_and_top_module_has_a_floor() -> None:
    names = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()
             if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()}
    assert names == set(FLOORS)


def test_the_checker_sees_an_upward_import_and_a_web_reach(tmp_path: Path) -> None:
    package = tmp_path / "facedaemon"
    for name in ("faces", "gallery", "web", "worker"):
        (package / name).mkdir(parents=True)
        (package / name / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "faces" / "matcher.py").write_text("from facedaemon.gallery.load import load_gallery\n")
    (package / "web" / "faces.py").write_text("def view():\n    from facedaemon.worker import client\n")
    found = violations(package)
    assert any("faces imports gallery" in problem for problem in found)
    assert any("the web imports only" in problem for problem in found)


def module_imports(package: Path) -> dict[str, set[str]]:
    """Module → the package's modules it imports, inside functions too (a deferred import still closes a circle),
    but not under `if TYPE_CHECKING:` (never run)."""
    modules = {".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__"): path
               for path in sorted(package.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        types_only = {id(inner) for node in ast.walk(tree)
                      if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                      for statement in node.body for inner in ast.walk(statement)}
        graph[module] = set()
        for node in ast.walk(tree):
            if id(node) in types_only:
                continue
            if isinstance(node, ast.Import):
                graph[module] |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module in modules:
                subs = {f"{node.module}.{alias.name}" for alias in node.names}
                graph[module] |= (subs & modules.keys()) or {node.module}
    return graph


def module_circles(package: Path) -> list[list[str]]:
    """Each import circle between modules (circles between folders are already ruled out by the floors)."""
    graph, circles, done = module_imports(package), [], set()

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in path:
                circles.append([*path[path.index(target):], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    return circles


def test_no_module_imports_itself_back() -> None:
    assert module_circles(PACKAGE) == []


def test_the_checker_sees_a_circle_inside_a_folder(tmp_path: Path) -> None:
    package = tmp_path / "facedaemon"
    (package / "worker").mkdir(parents=True)
    for name in ("__init__.py", "worker/__init__.py"):
        (package / name).write_text("")
    (package / "worker" / "protocol.py").write_text("def run():\n    from facedaemon.worker import child\n")
    (package / "worker" / "child.py").write_text("import facedaemon.worker.protocol\n")
    (package / "worker" / "client.py").write_text("from facedaemon.worker import child, frames, protocol\n")
    (package / "worker" / "frames.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from facedaemon.worker import client\n")
    assert module_circles(package) == [["facedaemon.worker.child", "facedaemon.worker.protocol",
                                        "facedaemon.worker.child"]]


def docs_layout():
    """scripts/docs-layout, loaded by path: the script owns the generator, and scripts never import tests."""
    loader = importlib.machinery.SourceFileLoader("docs_layout", str(PACKAGE.parent / "scripts" / "docs-layout"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def test_the_layout_block_in_how_it_works_is_the_generated_one() -> None:
    generator = docs_layout()
    page = generator.PAGE.read_text()
    start, end = generator.block_span(page)
    assert page[start:end] == generator.layout(), "run scripts/docs-layout --write (docs/how-it-works.md)"
