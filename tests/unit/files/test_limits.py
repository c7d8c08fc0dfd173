from pathlib import Path

import pytest

from pixelgen.errors import InputError
from pixelgen.files.limits import Limits, check_input_image, matrix_combinations


def test_matrix_combinations_without_expanding():
    assert matrix_combinations({}) == 1
    assert matrix_combinations({f"k{i}": list(range(10)) for i in range(10)}) == 10**10


def test_limits_from_a_manifest_block():
    assert Limits.from_manifest(None) == Limits()
    assert Limits.from_manifest({"max_images": 7}).max_images == 7


def test_check_input_image(tmp_path: Path):
    from PIL import Image

    Image.new("RGB", (64, 64)).save(tmp_path / "ok.png")
    check_input_image(tmp_path / "ok.png")
    with pytest.raises(InputError, match="4096 pixels"):
        check_input_image(tmp_path / "ok.png", max_pixels=100)
    with pytest.raises(InputError, match="folder"):
        check_input_image(tmp_path)
