"""The package's layering holds by construction: every `import` of a ganforge module, at the top of
a file or inside a function, points down the layer order below (README, "Layout"). The walk reads
the source (ast), so imports that never ran in a test count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ganforge

ROOT = Path(ganforge.__file__).parent

# Lowest first. A module may import modules of its own layer's package or of lower layers.
LAYERS = [
    {"errors", "version", "hashing"},
    {"decoding"},  # the gate every picture, JSON and array file read from a user passes
    {"registry", "schema"},  # generic machinery: names -> objects; settings declared on fields
    {"device", "loop"},  # the machine, and the one optimisation loop every trained thing runs
    {"data", "models", "losses", "metrics"},  # the catalogue: plain arguments, no run config
    {"presets"},
    {"config"},  # the run schema: names the catalogue's registries and presets
    {"io"},  # atomic files, checkpoint folders, pictures, JSON lines
    {"zoo"},  # the trained generators that ship with the package: names -> checkpoint folders + cards
    {"api"},  # ganforge.load: a checkpoint's generator, ready to sample
    {"evaluation"},
    {"training"},  # the one loop, the GAN step and trainer, callbacks
    {"apps"},
    {"export", "serve"},
    {"cli", "__init__"},  # the public faces
    {"__main__"},  # the console script and `python -m ganforge`: starts the CLI
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}
# Subsystems that load and run a trained model without ever reaching the training code.
NEVER_REACH_TRAINING = ("ganforge.serve", "ganforge.export", "ganforge.api", "ganforge.evaluation")
# Function-local imports are kept only for what an optional extra installs.
# ...and for the facade's lazy `ganforge.train` / `ganforge.evaluate` (PEP 562): loading a model never
# runs the training code or the data loaders; its other names are lazy too, so that `import ganforge`
# is instant and the console script (`__main__`) can catch Ctrl-C while the CLI's imports run.
DEFERRED = {("ganforge", "ganforge.training"), ("ganforge", "ganforge.evaluation"), ("ganforge", "ganforge.api"),
            ("ganforge", "ganforge.config"), ("ganforge.__main__", "ganforge.cli.main")}
OPTIONAL_EXTRAS = {"cv2", "skimage", "onnx", "onnxruntime", "onnxscript", "fastapi", "uvicorn", "ganforge.serve",
                   "tensorboard", "torch.utils.tensorboard", "playwright"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_part(module: str) -> str:
    """ganforge.io.checkpoint -> io; the package's own __init__ is '__init__'."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import that can run."""
    found: list[tuple[str, int, bool]] = []
    inside = ROOT in path.parents
    package = (module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]) if inside else ""

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # annotations only: never executed
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1] + [base]).strip(".")
                for alias in child.names:
                    # `from ganforge import checkpoint` imports a module, `from x import f` a name of x.
                    candidate = f"{base}.{alias.name}"
                    found.append((candidate if _is_module(candidate) else base, child.lineno, in_function))
            visit(child, nested)

    visit(ast.parse(path.read_text()), False)
    return found


def _is_module(name: str) -> bool:
    if not name.startswith("ganforge."):
        return False
    rel = Path(*name.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


SOURCES = sorted(ROOT.rglob("*.py"))


def test_every_part_has_a_layer():
    parts = {top_part(module_name(p)) for p in SOURCES}
    assert parts <= set(LAYER_OF), f"give these a layer: {sorted(parts - set(LAYER_OF))}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path):
    here = module_name(path)
    mine = top_part(here)
    wrong = []
    for target, line, in_function in imports(path):
        root = target.split(".")[0]
        optional = any(target == extra or target.startswith(extra + ".") for extra in OPTIONAL_EXTRAS)
        if in_function and not optional and (here, target) not in DEFERRED:
            if root == "ganforge" or root not in {"importlib", "os"}:
                wrong.append(f"line {line}: function-local import of {target}")
        if root != "ganforge":
            continue
        theirs = top_part(target)
        if target == "ganforge":
            if mine not in {"cli", "__main__"}:
                wrong.append(f"line {line}: imports the ganforge package facade (import the module itself)")
            continue
        if theirs != mine and LAYER_OF[theirs] >= LAYER_OF[mine]:
            wrong.append(f"line {line}: {mine} (layer {LAYER_OF[mine]}) imports {target} (layer {LAYER_OF[theirs]})")
    assert not wrong, f"{here}:\n" + "\n".join(dict.fromkeys(wrong))


def _closure(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(graph.get(name, ()))
    return seen


def test_loading_and_serving_never_reach_training():
    graph = {}
    for path in SOURCES:
        name = module_name(path)
        edges = {t for t, _, _ in imports(path) if t.startswith("ganforge.")}
        # importing ganforge.a.b runs ganforge/a/__init__.py first
        edges |= {".".join(t.split(".")[:k]) for t in list(edges) for k in range(2, len(t.split(".")))}
        graph[name] = edges
    for start in [n for n in graph if n.startswith(NEVER_REACH_TRAINING)]:
        reached = sorted(n for n in _closure(start, graph) if n.startswith("ganforge.training"))
        assert not reached, f"{start} reaches {reached}"


def test_the_walk_sees_function_local_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("import os\n\ndef f():\n    from ganforge.training import trainer\n    return trainer\n")
    assert ("os", 1, False) in imports(source) and ("ganforge.training.trainer", 4, True) in imports(source)
