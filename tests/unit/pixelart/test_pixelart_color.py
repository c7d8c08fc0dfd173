import numpy as np
import pytest

from pixelgen.pixelart.color import oklab_distance, oklab_to_srgb, srgb_to_oklab


def test_reference_colours():
    # Reference OKLab values from Björn Ottosson's OKLab post (sRGB white, black, red).
    lab = srgb_to_oklab(
        np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], dtype=np.uint8)
    )
    np.testing.assert_allclose(lab[0], [1.0, 0.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(lab[2], [0.62796, 0.22486, 0.12585], atol=1e-4)


def test_round_trip_is_exact_for_random_colours():
    rgb = np.random.default_rng(0).integers(0, 256, size=(20000, 3), dtype=np.uint8)
    np.testing.assert_array_equal(oklab_to_srgb(srgb_to_oklab(rgb)), rgb)


def test_shapes_are_preserved():
    image = np.zeros((4, 5, 3), dtype=np.uint8)
    assert srgb_to_oklab(image).shape == (4, 5, 3)
    assert srgb_to_oklab(image).dtype == np.float32


def test_distance_orders_perceptual_difference():
    lab = srgb_to_oklab(
        np.array([[128, 128, 128], [130, 128, 128], [255, 0, 0]], dtype=np.uint8)
    )
    assert oklab_distance(lab[0], lab[1]) < 0.01 < oklab_distance(lab[0], lab[2])


def test_wrong_dtype_and_shape_raise():
    with pytest.raises(TypeError):
        srgb_to_oklab(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError):
        srgb_to_oklab(np.zeros((2, 4), dtype=np.uint8))
    with pytest.raises(TypeError):
        oklab_to_srgb(np.zeros((2, 3), dtype=np.uint8))
