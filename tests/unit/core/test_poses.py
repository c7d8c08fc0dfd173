"""The built-in pose library and OpenPose drawing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pixelgen.core import poses


def test_every_cycle_has_every_facing_and_18_keypoints():
    library = poses.library()
    assert set(library) == {"idle", "walk", "run", "jump", "attack"}
    for cycle, facings in library.items():
        assert set(facings) == set(poses.FACINGS) and set(poses.FACINGS_4) <= set(facings)
        lengths = {len(frames) for frames in facings.values()}
        assert lengths == {poses.cycle_length(cycle)}
        for frames in facings.values():
            for frame in frames:
                assert len(frame) == 18
                assert all(0 <= x <= poses.CANVAS and 0 <= y <= poses.CANVAS for x, y, _c in frame)


def test_frames_of_a_cycle_differ_and_facings_differ():
    walk = poses.library()["walk"]
    assert len({frame for frame in walk["e"]}) == len(walk["e"])
    assert walk["e"][0] != walk["w"][0]
    # Facing the viewer the eyes show; from behind they do not (OpenPose confidence 0).
    eyes = (14, 15)
    assert all(walk["s"][0][i][2] == 1.0 for i in eyes)
    assert all(walk["n"][0][i][2] == 0.0 for i in eyes)


def test_a_frame_number_wraps_around_the_cycle():
    length = poses.cycle_length("idle")
    assert poses.library_pose(f"idle/s/{length + 1}") == poses.library_pose("idle/s/1")


@pytest.mark.parametrize("reference, problem", [
    ("walk/e", "not CYCLE/FACING/FRAME"),
    ("fly/e/0", "no pose cycle 'fly'"),
    ("walk/up/0", "no facing 'up'"),
    ("walk/e/x", "not a number"),
])
def test_pose_problems(reference, problem):
    assert problem in poses.pose_problem(reference)
    assert poses.pose_problem("walk/e/0") is None


def test_drawing_uses_openpose_colours_on_black():
    image = poses.draw_library_pose("walk/s/0", (128, 96))
    assert image.shape == (96, 128, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [0, 0, 0]
    colours = {tuple(c) for c in image.reshape(-1, 3).tolist()}
    assert (255, 0, 0) in colours  # the nose's joint colour
    assert len(colours) > 10
    assert not np.array_equal(image, poses.draw_library_pose("walk/s/2", (128, 96)))


def _openpose_json(points: list[tuple[float, float, float]], **extra) -> bytes:
    return json.dumps({"people": [{"pose_keypoints_2d": [v for p in points for v in p]}], **extra}).encode()


def test_user_openpose_json_coco18_and_body25():
    coco = list(poses.library_pose("idle/s/0"))
    people, canvas = poses.read_openpose_json(_openpose_json(coco, canvas_width=512, canvas_height=512))
    assert people == [tuple(coco)] and canvas == (512, 512)
    mid_hip = (256.0, 300.0, 1.0)
    body25 = coco[:8] + [mid_hip] + coco[8:] + [(0.0, 0.0, 0.0)] * 6
    people25, _ = poses.read_openpose_json(_openpose_json(body25))
    assert people25 == [tuple(coco)]
    drawn = poses.draw_pose(people, canvas, (64, 64))
    assert np.array_equal(drawn, poses.draw_library_pose("idle/s/0", (64, 64)))


@pytest.mark.parametrize("data, message", [
    (b"{", "not JSON"),
    (b'{"people": []}', "no `people` list"),
    (b'{"people": [{"pose_keypoints_2d": [1, 2, 3]}]}', "18 or 25 keypoints"),
])
def test_bad_openpose_json_says_what_is_wrong(data, message):
    with pytest.raises(ValueError, match=message):
        poses.read_openpose_json(data)
