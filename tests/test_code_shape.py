"""The shape of the code a student reads: no import circle, no private Keras names, files a reader can hold."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chapters", "models", "datasets")
# The one module that reaches into Keras's internals, because Keras 3.15 has no hook for its two fixes.
KERAS_INTERNALS_MODULE = "chapters/multiworker.py"


def python_files(*packages):
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, known):
    """The project's modules that `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # from chapters import training
    return {name for name in found if name in known}


def import_circle(graph):
    """A list of modules that import one another in a circle, or None."""
    state = {}

    def visit(module, path):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return path[path.index(imported):] + [imported]
            if imported not in state:
                circle = visit(imported, [*path, imported])
                if circle:
                    return circle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            circle = visit(module, [module])
            if circle:
                return circle
    return None


def test_the_circle_finder_finds_a_circle_and_accepts_a_tree():
    assert import_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert import_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_plumbing_modules_import_one_another_without_a_circle():
    paths = {module_name(path): path for path in python_files(*PACKAGES)}
    graph = {module: imported_modules(path, paths) - {module} for module, path in paths.items()}
    # A package's __init__ is imported with each of its modules: that is not a circle of the code's own.
    graph = {module: {name for name in imported if not module.startswith(f"{name}.")}
             for module, imported in graph.items()}
    assert import_circle(graph) is None


def keras_private_names():
    """The underscore names of the Keras objects our plumbing touches: callbacks, a compiled model, its optimizer
    and layers (a Keras upgrade may rename any of them)."""
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="rmsprop", loss="mse")
    objects = [keras.callbacks.BackupAndRestore("unused"), keras.callbacks.ModelCheckpoint("unused.keras"),
               keras.callbacks.CSVLogger("unused.csv"), keras.callbacks.TensorBoard(), keras.callbacks.Callback(),
               model, model.optimizer, model.layers[0]]
    return {name for thing in objects for name in dir(thing) if name.startswith("_") and not name.startswith("__")}


def private_keras_uses(path, private_names):
    """(line, name) of every `x._name` read or `def _name` override in `path` where `_name` is Keras's."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in private_names:
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.FunctionDef) and node.name in private_names:
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras.src"):
            found.append((node.lineno, node.module))
    return found


def test_the_private_name_finder_sees_an_override_a_read_and_an_import(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("from keras.src import tree\nclass B:\n    def _save_model(self):\n"
                      "        return self._current_epoch\n")
    assert private_keras_uses(source, {"_save_model", "_current_epoch"}) == [
        (1, "keras.src"), (3, "_save_model"), (4, "_current_epoch")]


def test_no_private_keras_name_outside_the_one_commented_module():
    private_names = keras_private_names()
    found = [f"{path.relative_to(ROOT).as_posix()}:{line}: {name}" for path in python_files("chapters")
             if path.relative_to(ROOT).as_posix() != KERAS_INTERNALS_MODULE
             for line, name in private_keras_uses(path, private_names)]
    assert found == []


MAX_LINES = 400


def test_no_file_a_reader_opens_is_over_400_lines():
    found = {path.relative_to(ROOT).as_posix(): lines for path in python_files(*PACKAGES)
             if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert found == {}
