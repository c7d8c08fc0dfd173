"""House rules that keep the layers honest, checked on the source.

The layers, top-down: ``cli/`` (the command line) and ``commands/`` (what each command does) use
``core/`` (plan, resolve, run, store, post-process), ``records/`` and
``quality/``, which use ``manifest/``, ``formats/``, ``render/``,
``pixelart/`` and ``files/``. Nothing imports a layer above it.
"""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pixelgen"
HEAVY = re.compile(r"^\s*(import (torch|diffusers|transformers|peft)\b|from (torch|diffusers|transformers|peft)\b)", re.M)

# A module in the first folder may not import from any folder in the second set.
FORBIDDEN = {
    "pixelart": {"commands", "core", "records", "quality", "manifest", "formats", "render", "files"},
    "files": {"commands", "core", "records", "quality", "manifest", "formats", "render", "pixelart"},
    "formats": {"commands", "core", "records", "quality", "manifest", "render"},
    "manifest": {"commands", "core.plan", "core.run", "core.store", "core.postprocess", "records", "quality", "render"},
    "render": {"commands", "records", "quality"},
    "commands": {"cli"},
    "core": {"commands", "cli"},
    "quality": {"commands", "cli"},
    "records": {"commands", "cli"},
}


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.removeprefix("pixelgen.") for name in names if name.startswith("pixelgen.")}


def test_only_the_render_package_imports_torch_and_diffusers():
    offenders = [p.relative_to(PACKAGE).as_posix() for p in _modules() if HEAVY.search(p.read_text()) and "render" not in p.parts]
    assert offenders == []


def test_only_hashing_hashes():
    offenders = [p.relative_to(PACKAGE).as_posix() for p in _modules() if "hashlib" in p.read_text() and p.name != "hashing.py"]
    assert offenders == []


def test_no_module_imports_a_layer_above_it():
    offenders = []
    for path in _modules():
        layer = path.relative_to(PACKAGE).parts[0]
        for name in _imported(path):
            for above in FORBIDDEN.get(layer, ()):
                if name == above or name.startswith(above + "."):
                    offenders.append(f"{path.relative_to(PACKAGE).as_posix()} imports pixelgen.{name}")
    assert offenders == []


def test_the_top_level_holds_only_the_entry_points():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "errors.py", "fastcli.py"]
