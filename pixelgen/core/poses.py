"""The built-in pose library and OpenPose drawing.

Poses are OpenPose (COCO-18) keypoints: pixelgen's own data, made here from
a stick figure with a few joint angles per frame of each cycle (idle, walk,
run, jump, attack) and projected for each facing (n, ne, e, se, s, sw, w, nw:
``s`` faces the viewer, ``e`` faces screen-right). ``draw_pose`` renders
keypoints the way OpenPose ControlNets were trained to see them: coloured
limbs over black, one colour per limb and joint. User poses come as OpenPose
JSON files (``people[].pose_keypoints_2d``, 18 or 25 keypoints).

Pure: numpy and Pillow only, no torch. Keypoints are rounded to 1/100 pixel so
the library (and so every key made from it) is the same on every machine.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

# Bump when the figure, a cycle or the drawing changes: pose renders' keys include it.
POSE_LIBRARY_VERSION = 1
CANVAS = 512  # keypoints of the library are pixels of a CANVAS × CANVAS image

FACINGS = ("n", "ne", "e", "se", "s", "sw", "w", "nw")
FACINGS_4 = ("n", "e", "s", "w")
_FACING_YAW = {"s": 0, "se": 45, "e": 90, "ne": 135, "n": 180, "nw": 225, "w": 270, "sw": 315}

KEYPOINT_NAMES = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
)
# OpenPose's limb list (0-based keypoint pairs) and colours, as its ControlNets were trained on.
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
COLOURS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
           (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
           (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))
# BODY_25 → COCO-18: OpenPose's default model writes 25 keypoints (a mid-hip and six foot points added).
_BODY25_TO_COCO = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)

# Joint angles in degrees per frame: thigh swing (forward +), knee bend, upper-arm swing, elbow bend,
# for the right (r) and left (l) side; "lift" raises the whole figure, "crouch" lowers the hips.
_CYCLES: dict[str, list[dict[str, float]]] = {
    "idle": [
        {"arm_r": 4, "arm_l": -4, "elbow_r": 8, "elbow_l": 8, "lift": 0.0},
        {"arm_r": 6, "arm_l": -2, "elbow_r": 10, "elbow_l": 10, "lift": -0.006},
        {"arm_r": 8, "arm_l": 0, "elbow_r": 12, "elbow_l": 12, "lift": -0.012},
        {"arm_r": 6, "arm_l": -2, "elbow_r": 10, "elbow_l": 10, "lift": -0.006},
    ],
    "walk": [
        {"thigh_r": 25 * math.sin(p), "thigh_l": -25 * math.sin(p), "knee_r": 8 + 30 * max(0.0, -math.cos(p)),
         "knee_l": 8 + 30 * max(0.0, math.cos(p)), "arm_r": -22 * math.sin(p), "arm_l": 22 * math.sin(p),
         "elbow_r": 18, "elbow_l": 18, "lift": 0.012 * math.cos(2 * p)}
        for p in (2 * math.pi * k / 8 for k in range(8))
    ],
    "run": [
        {"thigh_r": 45 * math.sin(p), "thigh_l": -45 * math.sin(p), "knee_r": 15 + 80 * max(0.0, -math.cos(p)),
         "knee_l": 15 + 80 * max(0.0, math.cos(p)), "arm_r": -45 * math.sin(p), "arm_l": 45 * math.sin(p),
         "elbow_r": 85, "elbow_l": 85, "lift": 0.03 * abs(math.cos(p)), "lean": 0.05}
        for p in (2 * math.pi * k / 8 for k in range(8))
    ],
    "jump": [
        {"thigh_r": 40, "thigh_l": 40, "knee_r": 80, "knee_l": 80, "arm_r": -40, "arm_l": -40, "elbow_r": 20, "elbow_l": 20, "crouch": 0.08},
        {"thigh_r": 5, "thigh_l": 5, "knee_r": 5, "knee_l": 5, "arm_r": 120, "arm_l": 120, "elbow_r": 10, "elbow_l": 10, "lift": 0.08},
        {"thigh_r": 30, "thigh_l": 20, "knee_r": 60, "knee_l": 40, "arm_r": 150, "arm_l": 150, "elbow_r": 15, "elbow_l": 15, "lift": 0.2},
        {"thigh_r": 45, "thigh_l": 35, "knee_r": 90, "knee_l": 70, "arm_r": 100, "arm_l": 100, "elbow_r": 30, "elbow_l": 30, "lift": 0.25},
        {"thigh_r": 20, "thigh_l": 15, "knee_r": 30, "knee_l": 25, "arm_r": 60, "arm_l": 60, "elbow_r": 30, "elbow_l": 30, "lift": 0.12},
        {"thigh_r": 35, "thigh_l": 35, "knee_r": 70, "knee_l": 70, "arm_r": 20, "arm_l": 20, "elbow_r": 30, "elbow_l": 30, "crouch": 0.06},
    ],
    "attack": [
        {"thigh_r": -10, "thigh_l": 15, "knee_r": 10, "knee_l": 15, "arm_r": 10, "arm_l": 10, "elbow_r": 20, "elbow_l": 20},
        {"thigh_r": -15, "thigh_l": 20, "knee_r": 15, "knee_l": 20, "arm_r": 160, "arm_l": 20, "elbow_r": 40, "elbow_l": 30, "crouch": 0.02},
        {"thigh_r": -15, "thigh_l": 25, "knee_r": 15, "knee_l": 25, "arm_r": 170, "arm_l": 30, "elbow_r": 60, "elbow_l": 40, "crouch": 0.02},
        {"thigh_r": -20, "thigh_l": 30, "knee_r": 10, "knee_l": 35, "arm_r": 95, "arm_l": -20, "elbow_r": 0, "elbow_l": 30, "crouch": 0.04, "lean": 0.04},
        {"thigh_r": -20, "thigh_l": 30, "knee_r": 10, "knee_l": 35, "arm_r": 45, "arm_l": -30, "elbow_r": 5, "elbow_l": 30, "crouch": 0.05, "lean": 0.05},
        {"thigh_r": -10, "thigh_l": 15, "knee_r": 10, "knee_l": 15, "arm_r": 20, "arm_l": 5, "elbow_r": 20, "elbow_l": 20},
    ],
}
CYCLES = tuple(_CYCLES)

# The figure, in body heights: hip and shoulder half-widths, limb lengths, heights of hips, shoulders, head.
_HIP_HALF, _SHOULDER_HALF = 0.09, 0.16
_THIGH, _SHIN, _UPPER_ARM, _FOREARM = 0.24, 0.24, 0.17, 0.16
_HIP_Y, _SHOULDER_Y, _NECK_Y, _HEAD_Y = 0.5, 0.8, 0.83, 0.92
_ELEVATION = math.radians(15)  # the camera looks slightly down, so front and back views differ


def cycle_length(cycle: str) -> int:
    return len(_CYCLES[cycle])


def _figure(frame: dict[str, float]) -> dict[str, np.ndarray]:
    """3-D joints in the figure's own frame: x to its left, y up, z forward."""
    rad = {key: math.radians(value) for key, value in frame.items() if key not in ("lift", "crouch", "lean")}
    y0 = frame.get("lift", 0.0) - frame.get("crouch", 0.0)
    lean = frame.get("lean", 0.0)
    joints: dict[str, np.ndarray] = {}
    for side, x in (("r", -1.0), ("l", 1.0)):
        hip = np.array([x * _HIP_HALF, _HIP_Y + y0, 0.0])
        thigh, knee_bend = rad.get(f"thigh_{side}", 0.0), rad.get(f"knee_{side}", 0.0)
        knee = hip + _THIGH * np.array([0.0, -math.cos(thigh), math.sin(thigh)])
        shin = thigh - knee_bend
        ankle = knee + _SHIN * np.array([0.0, -math.cos(shin), math.sin(shin)])
        shoulder = np.array([x * _SHOULDER_HALF, _SHOULDER_Y + y0, lean])
        arm, elbow_bend = rad.get(f"arm_{side}", 0.0), rad.get(f"elbow_{side}", 0.0)
        elbow = shoulder + _UPPER_ARM * np.array([x * 0.15, -math.cos(arm), math.sin(arm)])
        wrist = elbow + _FOREARM * np.array([x * 0.1, -math.cos(arm + elbow_bend), math.sin(arm + elbow_bend)])
        joints.update({f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle,
                       f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_wrist": wrist})
    head = np.array([0.0, _HEAD_Y + y0, lean * 1.3])
    joints["neck"] = np.array([0.0, _NECK_Y + y0, lean])
    joints["nose"] = head + np.array([0.0, 0.0, 0.07])
    for side, x in (("r", -1.0), ("l", 1.0)):
        joints[f"{side}_eye"] = head + np.array([x * 0.03, 0.02, 0.055])
        joints[f"{side}_ear"] = head + np.array([x * 0.065, 0.0, 0.0])
    return joints


def _project(joints: dict[str, np.ndarray], facing: str) -> list[list[float]]:
    """Keypoints [x, y, confidence] on the CANVAS for a figure turned to ``facing``; hidden face points get confidence 0."""
    yaw = math.radians(_FACING_YAW[facing])
    forward = np.array([math.sin(yaw), 0.0, math.cos(yaw)])  # world: x screen-right, y up, z toward the viewer
    left = np.array([math.cos(yaw), 0.0, -math.sin(yaw)])
    up = np.array([0.0, 1.0, 0.0])
    head_world = None
    points = []
    for name in KEYPOINT_NAMES:
        local = joints[name]
        world = local[0] * left + local[1] * up + local[2] * forward
        screen_x = CANVAS / 2 + world[0] * CANVAS * 0.65
        screen_y = CANVAS * 0.95 - (world[1] * math.cos(_ELEVATION) - world[2] * math.sin(_ELEVATION)) * CANVAS * 0.65
        confidence = 1.0
        if name in ("nose", "r_eye", "l_eye", "r_ear", "l_ear"):
            if head_world is None:
                centre = joints["nose"] - np.array([0.0, 0.0, 0.07])
                head_world = centre[0] * left + centre[1] * up + centre[2] * forward
            # A face point shows when it is on the side of the head that faces the viewer.
            confidence = 1.0 if (world - head_world)[2] > -0.01 else 0.0
        points.append([round(screen_x, 2), round(screen_y, 2), confidence])
    return points


@lru_cache(maxsize=None)
def library() -> dict[str, dict[str, tuple[tuple[tuple[float, float, float], ...], ...]]]:
    """cycle → facing → frames, each frame 18 keypoints (x, y, confidence) on a CANVAS-pixel square."""
    result: dict[str, dict[str, Any]] = {}
    for cycle, frames in _CYCLES.items():
        figures = [_figure(frame) for frame in frames]
        result[cycle] = {facing: tuple(tuple(tuple(point) for point in _project(f, facing)) for f in figures) for facing in FACINGS}
    return result


def pose_problem(reference: str) -> str | None:
    """Why ``CYCLE/FACING/FRAME`` names no pose of the library, or None."""
    parts = reference.split("/")
    if len(parts) != 3:
        return f"{reference!r} is not CYCLE/FACING/FRAME"
    cycle, facing, frame = parts
    if cycle not in _CYCLES:
        return f"no pose cycle {cycle!r} (cycles: {', '.join(CYCLES)})"
    if facing not in FACINGS:
        return f"no facing {facing!r} (facings: {', '.join(FACINGS)})"
    if not frame.isdigit():
        return f"frame {frame!r} is not a number"
    return None


def library_pose(reference: str) -> tuple[tuple[float, float, float], ...]:
    """Keypoints of ``CYCLE/FACING/FRAME``; the frame wraps around the cycle (a 6-frame clip loops a 4-frame idle)."""
    cycle, facing, frame = reference.split("/")
    frames = library()[cycle][facing]
    return frames[int(frame) % len(frames)]


def pose_payload(reference: str) -> dict[str, Any]:
    """What a library pose contributes to a job key: the keypoints themselves and the drawing's version."""
    return {"pose": reference, "keypoints": [list(point) for point in library_pose(reference)], "version": POSE_LIBRARY_VERSION}


def read_openpose_json(data: bytes) -> tuple[list[tuple[tuple[float, float, float], ...]], tuple[int, int]]:
    """People's keypoints (COCO-18) and the canvas size from an OpenPose JSON file; ValueError saying what is wrong."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("people"), list) or not document["people"]:
        raise ValueError("no `people` list (OpenPose JSON has people[].pose_keypoints_2d)")
    people = []
    for index, person in enumerate(document["people"]):
        flat = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        if not isinstance(flat, list) or len(flat) not in (54, 75) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in flat):
            raise ValueError(f"people[{index}].pose_keypoints_2d must hold 18 or 25 keypoints of 3 finite numbers (x, y, confidence)")
        triples = [tuple(float(v) for v in flat[i:i + 3]) for i in range(0, len(flat), 3)]
        if len(triples) == 25:
            triples = [triples[i] for i in _BODY25_TO_COCO]
        people.append(tuple(triples))
    width = document.get("canvas_width", CANVAS)
    height = document.get("canvas_height", CANVAS)
    if not all(isinstance(v, int) and 0 < v <= 16384 for v in (width, height)):
        raise ValueError("canvas_width and canvas_height must be positive integers")
    if all(x <= 1.0 and y <= 1.0 for person in people for x, y, _c in person):
        width = height = 1  # normalised coordinates
    return people, (width, height)


def draw_pose(people: list[tuple[tuple[float, float, float], ...]], canvas: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """An OpenPose control image (H×W×3 uint8) of ``people`` drawn on a ``size`` (width, height) black image.

    The canvas is fitted into the image keeping its aspect ratio, centred, as
    the pose would be placed on a render of another shape.
    """
    from PIL import Image, ImageDraw

    width, height = size
    scale = min(width / canvas[0], height / canvas[1])
    offset_x = (width - canvas[0] * scale) / 2
    offset_y = (height - canvas[1] * scale) / 2
    stick = max(1.0, 4.0 * min(width, height) / CANVAS)
    limbs = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(limbs)
    for person in people:
        points = [(offset_x + x * scale, offset_y + y * scale, c) for x, y, c in person]
        for index, (a, b) in enumerate(LIMBS):
            if points[a][2] <= 0 or points[b][2] <= 0:
                continue
            colour = tuple(int(channel * 0.6) for channel in COLOURS[index])  # OpenPose blends limbs at 60 %
            draw.line([points[a][:2], points[b][:2]], fill=colour, width=max(1, round(2 * stick)))
        for index, (x, y, c) in enumerate(points):
            if c > 0:
                draw.ellipse([x - stick, y - stick, x + stick, y + stick], fill=COLOURS[index])
    return np.asarray(limbs, dtype=np.uint8).copy()


def draw_library_pose(reference: str, size: tuple[int, int]) -> np.ndarray:
    return draw_pose([library_pose(reference)], (CANVAS, CANVAS), size)


def draw_pose_file(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    people, canvas = read_openpose_json(Path(path).read_bytes())
    return draw_pose(people, canvas, size)
