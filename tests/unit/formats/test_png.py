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


def _png_bytes(image: object, **save: object) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save)
    return buffer.getvalue()


def test_sixteen_bit_grey_keeps_its_levels():
    # Pillow's convert("RGB") clips 16-bit grey to 0 or 255: 80/255 grey came out white.
    from PIL import Image

    levels = np.array([[0, 80, 160, 240]], dtype=np.uint16) * 257
    decoded = decode_png(_png_bytes(Image.fromarray(levels)))
    assert decoded.shape == (1, 4, 3)
    assert decoded[0, :, 0].tolist() == [0, 80, 160, 240]
    assert np.array_equal(decoded[..., 0], decoded[..., 2])


def test_sixteen_bit_grey_with_a_transparent_level_gets_alpha():
    from PIL import Image

    levels = np.array([[0, 80 * 257, 65535]], dtype=np.uint16)
    decoded = decode_png(_png_bytes(Image.fromarray(levels), transparency=80 * 257))
    assert decoded.shape == (1, 3, 4)
    assert decoded[0, :, 3].tolist() == [255, 0, 255]
    assert decoded[0, :, 0].tolist() == [0, 80, 255]


def test_a_floating_point_image_is_refused_with_the_fix():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((2, 2), 0.5, dtype=np.float32)).save(buffer, format="TIFF")
    with pytest.raises(ValueError, match="8 or 16 bits"):
        decode_png(buffer.getvalue())
