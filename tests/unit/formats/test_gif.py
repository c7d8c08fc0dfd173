import io

import numpy as np
import pytest
from PIL import Image

from pixelgen.formats.gif import animated_gif


def _frames(count=4, size=(10, 12), colours=6, seed=3):
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (colours, 3), dtype=np.uint8)
    frames = []
    for _ in range(count):
        frame = np.zeros((*size, 4), dtype=np.uint8)
        frame[..., :3] = palette[rng.integers(0, colours, size)]
        frame[..., 3] = np.where(rng.random(size) < 0.3, 0, 255)
        frames.append(frame)
    return frames


def _decode(data: bytes):
    image = Image.open(io.BytesIO(data))
    decoded = []
    for index in range(image.n_frames):
        image.seek(index)
        decoded.append((np.asarray(image.convert("RGBA")), image.info.get("duration")))
    return image, decoded


def _expected(frame, scale):
    """Input as GIF keeps it: binary alpha, transparent pixels (0,0,0,0) after Pillow's RGBA conversion."""
    expected = frame.copy()
    expected[frame[..., 3] < 128] = 0
    expected[frame[..., 3] >= 128, 3] = 255
    return expected.repeat(scale, axis=0).repeat(scale, axis=1)


@pytest.mark.parametrize("scale", [1, 3])
def test_pillow_decodes_the_exact_frames_and_timing(scale):
    frames = _frames()
    frames[1][..., 3] = np.where(frames[1][..., 3] == 255, 200, 40)  # partial alpha gets thresholded
    data = animated_gif(frames, durations_ms=[100, 150, 80, 120], scale=scale)
    image, decoded = _decode(data)
    assert image.info["loop"] == 0
    assert len(decoded) == 4
    for frame, (pixels, duration), wanted in zip(frames, decoded, [100, 150, 80, 120]):
        assert duration == wanted
        np.testing.assert_array_equal(pixels, _expected(frame, scale))


def test_bytes_are_deterministic_and_loop_none_plays_once():
    frames = _frames()
    assert animated_gif(frames, durations_ms=[100] * 4) == animated_gif(frames, durations_ms=[100] * 4)
    once = Image.open(io.BytesIO(animated_gif(frames, durations_ms=[100] * 4, loop=None)))
    assert "loop" not in once.info


def test_too_many_colours_and_bad_arguments_raise():
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    noisy[..., 3] = 255
    with pytest.raises(ValueError, match="quantise"):
        animated_gif([noisy], durations_ms=[100])
    frames = _frames(count=2)
    with pytest.raises(ValueError, match="one per frame"):
        animated_gif(frames, durations_ms=[100])
    with pytest.raises(ValueError, match="scale"):
        animated_gif(frames, durations_ms=[100, 100], scale=0)
    with pytest.raises(ValueError, match="same size"):
        animated_gif([frames[0], frames[1][:5]], durations_ms=[100, 100])


def test_identical_consecutive_frames_merge_with_summed_delay():
    still = np.zeros((4, 4, 4), dtype=np.uint8)
    still[..., 3] = 255
    moved = still.copy()
    moved[0, 0, 0] = 255
    _, decoded = _decode(animated_gif([still, still, moved], durations_ms=[100, 100, 50]))
    assert [duration for _, duration in decoded] == [200, 50]
