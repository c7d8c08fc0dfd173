"""House rules that keep the layers honest, checked on the source."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pixelgen"
HEAVY = re.compile(r"^\s*(import (torch|diffusers|transformers|peft)\b|from (torch|diffusers|transformers|peft)\b)", re.M)


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_only_the_render_package_imports_torch_and_diffusers():
    offenders = [p.relative_to(PACKAGE).as_posix() for p in _modules() if HEAVY.search(p.read_text()) and "render" not in p.parts]
    assert offenders == []


def test_only_hashing_hashes():
    offenders = [p.relative_to(PACKAGE).as_posix() for p in _modules() if "hashlib" in p.read_text() and p.name != "hashing.py"]
    assert offenders == []
