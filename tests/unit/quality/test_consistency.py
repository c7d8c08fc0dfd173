"""Frame-consistency scores against frame 0."""

from __future__ import annotations

import numpy as np
import pytest

from pixelgen.quality.consistency import (
    clip_consistency,
    frame_consistency,
    histogram_distance,
    palette_distance,
    silhouette_iou,
)


def sprite(box: tuple[int, int, int, int], colour: tuple[int, int, int], size: int = 16) -> np.ndarray:
    image = np.zeros((size, size, 4), np.uint8)
    top, left, bottom, right = box
    image[top:bottom, left:right] = [*colour, 255]
    return image


RED = (200, 10, 10)


def test_a_moved_copy_is_fully_consistent():
    frame0 = sprite((2, 2, 10, 6), RED)
    moved = sprite((6, 9, 14, 13), RED)  # the figure walked: same silhouette elsewhere
    assert frame_consistency(frame0, moved) == {"frame_consistency": 1.0, "silhouette_iou": 1.0, "palette_distance": 0.0,
                                                "histogram_distance": 0.0}


def test_a_different_character_scores_low():
    frame0 = sprite((2, 2, 10, 6), RED)
    other = sprite((1, 1, 15, 15), (10, 200, 10))
    scores = frame_consistency(frame0, other)
    assert scores["silhouette_iou"] == pytest.approx(32 / 196, abs=1e-4)
    assert scores["palette_distance"] == 1.0 and scores["histogram_distance"] == 1.0
    assert scores["frame_consistency"] == pytest.approx((32 / 196) / 3, abs=1e-4)


def test_half_the_colours_changed():
    frame0 = sprite((0, 0, 8, 8), RED)
    frame0[:4, :, :3] = (10, 10, 200)
    recoloured = frame0.copy()
    recoloured[:4, :, :3] = (10, 200, 10)
    assert palette_distance(frame0, recoloured) == pytest.approx(2 / 3)
    assert histogram_distance(frame0, recoloured) == pytest.approx(0.5)
    assert silhouette_iou(frame0, recoloured) == 1.0


def test_empty_frames_and_opaque_renders():
    empty = np.zeros((8, 8, 4), np.uint8)
    assert frame_consistency(empty, empty)["frame_consistency"] is None
    assert frame_consistency(sprite((0, 0, 4, 4), RED, 8), empty)["frame_consistency"] == 0.0
    rgb = np.full((8, 8, 3), 40, np.uint8)
    assert frame_consistency(rgb, rgb)["frame_consistency"] == 1.0


def test_clip_consistency_is_the_worst_frame():
    frames = [sprite((2, 2, 10, 6), RED), sprite((3, 3, 11, 7), RED), sprite((1, 1, 15, 15), (0, 0, 255))]
    result = clip_consistency(frames)
    assert result["frames"][0] == 1.0 and result["frame_consistency"] == result["frames"][1] < 0.2
    assert clip_consistency(frames[:1]) == {"frame_consistency": None, "frames": []}
