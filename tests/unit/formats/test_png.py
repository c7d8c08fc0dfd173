import numpy as np
import pytest

from pixelgen.formats.png import decode_png, encode_png, read_png_text, strip_png_text


def test_round_trip_text_and_stable_bytes():
    image = np.arange(4 * 3 * 4, dtype=np.uint8).reshape(4, 3, 4)
    first = encode_png(image, text={"parameters": "a hero\nSteps: 2", "pixelgen": "{}"})
    assert first == encode_png(image, text={"pixelgen": "{}", "parameters": "a hero\nSteps: 2"})
    assert np.array_equal(decode_png(first), image)
    assert read_png_text(first) == {"parameters": "a hero\nSteps: 2", "pixelgen": "{}"}
    assert read_png_text(strip_png_text(first)) == {}


def test_refuses_other_dtypes():
    with pytest.raises(TypeError):
        encode_png(np.zeros((2, 2, 3), dtype=np.float32))
