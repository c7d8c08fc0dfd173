import numpy as np
import pytest

from pixelgen.formats.sheet import Rect, pack_frames


def _frames(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 4), dtype=np.uint8) for w, h in sizes]


def _overlaps(a: Rect, b: Rect, margin: int) -> bool:
    return not (
        a.x + a.w + margin <= b.x or b.x + b.w + margin <= a.x or a.y + a.h + margin <= b.y or b.y + b.h + margin <= a.y
    )


@pytest.mark.parametrize("layout", ["grid", "tight"])
@pytest.mark.parametrize("extrude", [0, 2])
def test_rects_slice_back_the_input_frames(layout, extrude):
    frames = _frames([(16, 16), (8, 24), (20, 6), (5, 5), (16, 16), (1, 9), (12, 12)])
    sheet, rects = pack_frames(frames, layout=layout, padding=1, extrude=extrude)
    assert sheet.dtype == np.uint8 and sheet.shape[2] == 4
    assert len(rects) == len(frames)
    for frame, rect in zip(frames, rects):
        np.testing.assert_array_equal(rect.slice_of(sheet), frame)
    # Frames plus extrusion plus padding never overlap.
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert not _overlaps(a, b, margin=2 * extrude + 1), (a, b)


def test_grid_layout_uses_equal_cells_and_transparent_padding():
    frames = [np.full((8, 8, 4), 200, dtype=np.uint8) for _ in range(5)]
    sheet, rects = pack_frames(frames, layout="grid", columns=3, padding=2)
    assert sheet.shape[:2] == (8 * 2 + 2, 8 * 3 + 2 * 2)
    assert [(r.x, r.y) for r in rects] == [(0, 0), (10, 0), (20, 0), (0, 10), (10, 10)]
    assert not sheet[:, 8:10].any()  # padding column between cells
    assert not sheet[8:10, :].any()
    assert not sheet[10:, 20:].any()  # unused sixth cell


def test_extrusion_repeats_edge_pixels():
    frame = np.zeros((4, 4, 4), dtype=np.uint8)
    frame[..., 3] = 255
    frame[:, :, 0] = np.arange(4)[None, :] * 60  # columns differ
    frame[:, :, 1] = np.arange(4)[:, None] * 60  # rows differ
    sheet, (rect,) = pack_frames([frame], extrude=2, padding=0)
    assert (rect.x, rect.y) == (2, 2) and sheet.shape[:2] == (8, 8)
    np.testing.assert_array_equal(sheet[2:6, 0], frame[:, 0])  # left extrusion = first column
    np.testing.assert_array_equal(sheet[2:6, 7], frame[:, -1])
    np.testing.assert_array_equal(sheet[0, 2:6], frame[0])
    np.testing.assert_array_equal(sheet[7, 2:6], frame[-1])
    np.testing.assert_array_equal(sheet[0, 0], frame[0, 0])  # corners take the corner pixel


def test_tight_is_smaller_than_grid_for_mixed_sizes_and_deterministic():
    frames = _frames([(32, 32)] + [(4, 4)] * 12)
    grid_sheet, _ = pack_frames(frames, layout="grid")
    tight_sheet, tight_rects = pack_frames(frames, layout="tight")
    assert tight_sheet.shape[0] * tight_sheet.shape[1] < grid_sheet.shape[0] * grid_sheet.shape[1]
    again_sheet, again_rects = pack_frames(frames, layout="tight")
    assert again_rects == tight_rects
    np.testing.assert_array_equal(again_sheet, tight_sheet)


def test_rejects_wrong_inputs():
    good = np.zeros((4, 4, 4), dtype=np.uint8)
    with pytest.raises(TypeError):
        pack_frames([good.astype(np.float32)])
    with pytest.raises(ValueError):
        pack_frames([good[..., :3]])
    with pytest.raises(ValueError):
        pack_frames([])
    with pytest.raises(ValueError, match="layout"):
        pack_frames([good], layout="spiral")
    with pytest.raises(ValueError, match="padding"):
        pack_frames([good], padding=-1)
    with pytest.raises(ValueError, match="columns"):
        pack_frames([good], layout="tight", columns=2)
