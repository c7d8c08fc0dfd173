"""Tests for pixelgen.quality.scores: hand-built images whose scores can be worked out on paper."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from clip_helpers import write_tiny_clip

from pixelgen.quality.scores import (
    COMPOSITE_BACKGROUND,
    QUALITY_SCHEMA_VERSION,
    animation_metrics,
    combine_metrics,
    composite_rgb,
    optional_metrics,
    pixel_metrics,
    quality_document,
    reference_metrics,
    seam_metrics,
    set_palette_union,
    set_shares_palette,
)

REPO = Path(__file__).resolve().parents[3]

A = (200, 40, 40)
B = (40, 180, 60)
C = (240, 220, 80)
OFF = (1, 2, 3)  # a colour in no palette below
PALETTE = np.array([A, B, C], dtype=np.uint8)


def blank(h: int, w: int) -> np.ndarray:
    return np.zeros((h, w, 4), dtype=np.uint8)


def put(image: np.ndarray, y: int, x: int, rgb: tuple[int, int, int], alpha: int = 255) -> None:
    image[y, x] = (*rgb, alpha)


# --------------------------------------------------------------------------- pixel_metrics


def speckled_sprite() -> np.ndarray:
    """5×5: a 2×2 block (A A / B OFF), a lone A speck at (4,4), a half-alpha B at (0,4)."""
    image = blank(5, 5)
    put(image, 1, 1, A)
    put(image, 1, 2, A)
    put(image, 2, 1, B)
    put(image, 2, 2, OFF)
    put(image, 4, 4, A)
    put(image, 0, 4, B, alpha=128)
    return image


def test_pixel_metrics_on_hand_counted_sprite() -> None:
    metrics = pixel_metrics(speckled_sprite(), palette=PALETTE, grid_confidence=0.75, outline_color=A)
    assert metrics == {
        # 6 opaque pixels (alpha > 0), one (OFF) outside the palette.
        "palette_compliance": round(5 / 6, 6),
        "colors_used": 3,  # A, B, OFF
        "partial_alpha_share": 1 / 25,
        "grid_confidence": 0.75,
        # (4,4) and the half-alpha (0,4) have no opaque 8-neighbour; the block pixels do.
        "orphan_pixels": 2,
        # Every opaque pixel touches transparency; 3 of the 6 are A.
        "outline_coverage": 0.5,
    }


def test_pixel_metrics_nulls_without_palette_or_outline() -> None:
    metrics = pixel_metrics(speckled_sprite(), palette=None)
    assert metrics["palette_compliance"] is None
    assert metrics["outline_coverage"] is None
    assert metrics["grid_confidence"] is None


def test_outline_coverage_ignores_interior_and_counts_image_edge() -> None:
    # 3×3 fully opaque: the centre is interior, the 8 others touch the image edge.
    ring = np.zeros((3, 3, 4), dtype=np.uint8)
    ring[..., :3] = B
    ring[..., 3] = 255
    ring[1, 1, :3] = A
    assert pixel_metrics(ring, palette=None, outline_color=B)["outline_coverage"] == 1.0
    assert pixel_metrics(ring, palette=None, outline_color=A)["outline_coverage"] == 0.0


def test_empty_image_is_vacuously_compliant() -> None:
    metrics = pixel_metrics(blank(4, 4), palette=PALETTE, outline_color=A)
    assert metrics["palette_compliance"] == 1.0
    assert metrics["colors_used"] == 0
    assert metrics["orphan_pixels"] == 0
    assert metrics["outline_coverage"] is None


def test_rgb_input_counts_as_opaque() -> None:
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0] = A
    metrics = pixel_metrics(rgb, palette=PALETTE)
    assert metrics["colors_used"] == 2  # A and black
    assert metrics["palette_compliance"] == 0.25
    assert metrics["orphan_pixels"] == 0


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((4, 4, 4), dtype=np.float32), TypeError),
        (np.zeros((4, 4), dtype=np.uint8), ValueError),
        (np.zeros((4, 4, 2), dtype=np.uint8), ValueError),
        (np.zeros((0, 4, 4), dtype=np.uint8), ValueError),
        ([[0, 0, 0, 0]], TypeError),
    ],
)
def test_pixel_metrics_rejects_bad_images(image: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        pixel_metrics(image, palette=None)  # type: ignore[arg-type]


def test_pixel_metrics_rejects_bad_palette_and_outline() -> None:
    with pytest.raises(TypeError):
        pixel_metrics(blank(2, 2), palette=PALETTE.astype(np.int64))
    with pytest.raises(ValueError, match="palette"):
        pixel_metrics(blank(2, 2), palette=np.zeros((3, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="outline_color"):
        pixel_metrics(blank(2, 2), palette=None, outline_color=(300, 0, 0))
    with pytest.raises(ValueError, match="grid_confidence"):
        pixel_metrics(blank(2, 2), palette=None, grid_confidence=float("nan"))


# --------------------------------------------------------------------------- seam_metrics


def test_seam_metrics_of_horizontal_ramp() -> None:
    # Red ramps 0,10,20,30 across 4 columns; rows identical.
    tile = blank(4, 4)
    tile[..., 0] = np.array([0, 10, 20, 30], dtype=np.uint8)[None, :]
    tile[..., 3] = 255
    # Wrap: columns give 4 rows × [30,0,0], rows give 0s → 120 / 24 = 5.
    # Interior: 12 horizontal pairs × [10,0,0] + 12 vertical pairs × 0 → 120 / 72.
    assert seam_metrics(tile) == {
        "seam": 5.0,
        "interior": round(120 / 72, 6),
        "seam_error": round(5.0 / (120 / 72), 6),
    }


def test_periodic_tile_has_seam_error_one() -> None:
    checker = blank(4, 4)
    checker[..., 3] = 255
    checker[(np.indices((4, 4)).sum(axis=0) % 2) == 1, :3] = A
    assert seam_metrics(checker)["seam_error"] == 1.0


def test_flat_tile_uses_interior_floor() -> None:
    flat = blank(4, 4)
    flat[..., 3] = 255
    assert seam_metrics(flat) == {"seam": 0.0, "interior": 0.0, "seam_error": 0.0}
    # Only the last column differs (by 8 in red): interior differences average
    # below one level, so the floor of 1.0 keeps seam_error == seam.
    flat[:, 3, 0] = 8
    m = seam_metrics(flat)
    assert m["interior"] < 1.0
    assert m["seam_error"] == m["seam"] == round(4 * 8 / 24, 6)


def test_seam_metrics_sees_transparency_and_rejects_tiny_tiles() -> None:
    tile = blank(4, 4)
    tile[..., 3] = 255
    tile[:, 0, 3] = 0  # first column transparent: composites to magenta
    assert seam_metrics(tile)["seam"] > 0
    with pytest.raises(ValueError, match="2×2"):
        seam_metrics(blank(1, 4))


def test_composite_rgb_rounds_half_alpha() -> None:
    image = blank(1, 1)
    put(image, 0, 0, (0, 0, 0), alpha=128)
    # (0*128 + bg*127 + 127) // 255 per channel: 255 → 127, 0 → 0.
    assert composite_rgb(image)[0, 0].tolist() == [127, 0, 127]
    assert COMPOSITE_BACKGROUND == (255, 0, 255)


# --------------------------------------------------------------------------- animation_metrics


def square_frame(x: int, colours: tuple[tuple[int, int, int], ...] = (A,)) -> np.ndarray:
    frame = blank(12, 12)
    frame[2:6, x : x + 4] = (*colours[0], 255)
    if len(colours) > 1:
        frame[2, x] = (*colours[1], 255)
    return frame


def test_animation_metrics_worst_pair() -> None:
    frames = [square_frame(1), square_frame(4), square_frame(4, (A, B))]
    m = animation_metrics(frames)
    assert m["frame_count"] == 3
    # Pair 1→2 moves every bbox edge 3 px right; pair 2→3 adds B to {A}: 1 of 2 colours new.
    assert m["bbox_jitter_px"] == 3
    assert m["palette_drift"] == 0.5
    # Centroid moves 3.0 in pair 1→2; in pair 2→3 one pixel of 16 changes colour only.
    assert m["centroid_jitter_px"] == 3.0


def test_animation_metrics_still_clip_and_single_frame() -> None:
    still = animation_metrics([square_frame(2)] * 3)
    assert (still["palette_drift"], still["bbox_jitter_px"], still["centroid_jitter_px"]) == (0.0, 0, 0.0)
    single = animation_metrics([square_frame(2)])
    assert single == {"frame_count": 1, "palette_drift": None, "bbox_jitter_px": None, "centroid_jitter_px": None}


def test_animation_metrics_skips_empty_frames_geometrically() -> None:
    m = animation_metrics([square_frame(2), blank(12, 12)])
    assert m["bbox_jitter_px"] is None and m["centroid_jitter_px"] is None
    assert m["palette_drift"] == 0.0


def test_animation_metrics_rejects_mixed_sizes_and_empty_clip() -> None:
    with pytest.raises(ValueError, match="same size"):
        animation_metrics([blank(4, 4), blank(4, 5)])
    with pytest.raises(ValueError, match="at least one frame"):
        animation_metrics([])


# --------------------------------------------------------------------------- sets


def test_palette_union_and_sharing() -> None:
    one = square_frame(1)
    two = square_frame(1, (A, B))
    union = set_palette_union([one, two])
    assert union.dtype == np.uint8
    assert union.tolist() == [list(B), list(A)]  # sorted by 0xRRGGBB: 0x28.. < 0xC8..
    assert set_shares_palette([one, two], palette=PALETTE)
    assert not set_shares_palette([one, two])  # colour sets differ
    assert set_shares_palette([one, one.copy()])
    assert not set_shares_palette([speckled_sprite()], palette=PALETTE)  # OFF is outside
    assert set_palette_union([]).shape == (0, 3)


# --------------------------------------------------------------------------- reference_metrics


def grey(h: int = 8, w: int = 8) -> np.ndarray:
    image = np.full((h, w, 4), 100, dtype=np.uint8)
    image[..., 3] = 255
    return image


def test_reference_metrics_identical() -> None:
    assert reference_metrics(grey(), grey()) == {"ssim": 1.0, "psnr": None, "reason": "identical: PSNR is infinite"}


def test_reference_metrics_psnr_matches_definition() -> None:
    changed = grey()
    changed[3, 3, :3] = 110
    m = reference_metrics(changed, grey())
    # One pixel off by 10 in 3 channels: MSE = 300 / (8·8·3); PSNR = 10·log10(255² / MSE).
    assert m["psnr"] == round(10 * math.log10(255**2 / (300 / 192)), 6)
    assert 0 < m["ssim"] < 1
    assert m["reason"] is None


def test_reference_metrics_alpha_matters() -> None:
    holed = grey()
    holed[2:5, 2:5, 3] = 0
    assert reference_metrics(holed, grey())["ssim"] < 0.9


def test_reference_metrics_size_and_tiny_images() -> None:
    m = reference_metrics(grey(8, 8), grey(8, 9))
    assert m["ssim"] is None and m["psnr"] is None
    assert m["reason"].startswith("size differs: image is 8×8, reference is 9×8")
    tiny = reference_metrics(grey(2, 2), grey(2, 2))
    assert tiny["ssim"] is None and "too small" in tiny["reason"]
    # 4×4 still gets an SSIM (window shrinks to 3).
    assert reference_metrics(grey(4, 4), grey(4, 4))["ssim"] == 1.0


# --------------------------------------------------------------------------- optional_metrics


def test_optional_metrics_without_inputs_say_why() -> None:
    m = optional_metrics(grey(), prompt=None, reference=None)
    assert m == {
        "lpips": None,
        "lpips_reason": "not computed: no reference image",
        "clip_distance": None,
        "clip_distance_reason": "not computed: no prompt",
    }


def test_lpips_reports_reason_when_unavailable() -> None:
    m = optional_metrics(grey(), prompt=None, reference=grey())
    try:
        import lpips  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        assert m["lpips"] is None
        assert m["lpips_reason"].startswith("not computed: package lpips not importable")
    else:  # pragma: no cover - only where lpips is installed
        assert (m["lpips"] is None) == (m["lpips_reason"] is not None)


def test_clip_distance_from_local_model_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers", reason="transformers not installed: CLIP path not testable")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    sprite = square_frame(3)

    monkeypatch.setenv("PIXELGEN_CLIP_MODEL", "no-such-org/no-such-clip")
    missing = optional_metrics(sprite, prompt="a red square", reference=None)
    assert missing["clip_distance"] is None
    assert "not in the local Hugging Face cache" in missing["clip_distance_reason"]

    model_dir = tmp_path / "tiny-clip"
    model_dir.mkdir()
    write_tiny_clip(model_dir)
    monkeypatch.setenv("PIXELGEN_CLIP_MODEL", str(model_dir))
    first = optional_metrics(sprite, prompt="a red square", reference=None)
    again = optional_metrics(sprite, prompt="a red square", reference=None)
    other = optional_metrics(sprite, prompt="zzzz qqqq", reference=None)
    assert first["clip_distance_reason"] is None
    assert 0.0 <= first["clip_distance"] <= 2.0
    assert first["clip_distance"] == again["clip_distance"]
    assert other["clip_distance"] != first["clip_distance"]  # the text really enters the score


# --------------------------------------------------------------------------- documents


def test_combine_metrics_flattens_for_gates() -> None:
    merged = combine_metrics(
        pixel=pixel_metrics(grey(), palette=None),
        seam=seam_metrics(grey()),
        vs_previous=reference_metrics(grey(), grey()),
    )
    assert merged["ssim_vs_previous"] == 1.0
    assert merged["psnr_vs_previous"] is None
    assert merged["psnr_vs_previous_reason"] == "identical: PSNR is infinite"
    assert merged["ssim_vs_reference"] is None
    assert merged["ssim_vs_reference_reason"] == "not computed: no reference image"
    assert merged["seam_error"] == 0.0
    assert "ssim_vs_previous_reason" not in merged


def test_quality_document_is_sorted_plain_json() -> None:
    doc = quality_document("demo", {"b": {"z": 1, "a": None}, "a": {"colors_used": 2}})
    assert doc["schema"] == QUALITY_SCHEMA_VERSION == 1
    assert list(doc["assets"]) == ["a", "b"]
    assert list(doc["assets"]["b"]) == ["a", "z"]
    json.dumps(doc, allow_nan=False)
    with pytest.raises(ValueError, match="not plain JSON"):
        quality_document("demo", {"a": {"psnr": float("inf")}})


def test_metrics_are_json_serialisable_without_nan() -> None:
    sprite = speckled_sprite()
    everything = combine_metrics(
        pixel=pixel_metrics(sprite, palette=PALETTE, outline_color=A),
        seam=seam_metrics(sprite),
        animation=animation_metrics([sprite, sprite]),
        vs_previous=reference_metrics(sprite, sprite),
        vs_reference=reference_metrics(sprite, grey(5, 5)),
    )
    text = json.dumps(everything, allow_nan=False)
    assert json.loads(text) == everything


# --------------------------------------------------------------------------- eval/compare_folders.py


def test_compare_folders_script(tmp_path: Path) -> None:
    from PIL import Image

    out, ref = tmp_path / "out", tmp_path / "ref"
    (out / "sub").mkdir(parents=True)
    (ref / "sub").mkdir(parents=True)
    changed = grey()
    changed[3, 3, :3] = 110
    Image.fromarray(changed).save(out / "sub" / "a.png")
    Image.fromarray(grey()).save(ref / "sub" / "a.png")
    Image.fromarray(grey()).save(out / "only_out.png")
    Image.fromarray(grey()).save(ref / "only_ref.png")

    run = subprocess.run(
        [sys.executable, str(REPO / "eval" / "compare_folders.py"), str(out), str(ref), "--json", "--no-learned"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert [p["path"] for p in result["pairs"]] == ["sub/a.png"]
    assert result["pairs"][0]["psnr"] == round(10 * math.log10(255**2 / (300 / 192)), 6)
    assert result["only_in_outputs"] == ["only_out.png"]
    assert result["only_in_references"] == ["only_ref.png"]

    table = subprocess.run(
        [sys.executable, str(REPO / "eval" / "compare_folders.py"), str(out), str(ref), "--no-learned"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.returncode == 0
    assert "sub/a.png" in table.stdout and "only in outputs: only_out.png" in table.stdout

    empty = tmp_path / "empty"
    empty.mkdir()
    none = subprocess.run(
        [sys.executable, str(REPO / "eval" / "compare_folders.py"), str(empty), str(ref), "--no-learned"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert none.returncode == 2


def test_correlate_ratings_script(tmp_path: Path) -> None:
    pytest.importorskip("scipy")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text(
        "path,rater,readability,palette\n"
        "a.png,r1,1,5\nb.png,r1,2,4\nc.png,r1,3,3\nd.png,r1,4,2\n"
        "a.png,r2,2,5\nb.png,r2,2,4\nc.png,r2,4,3\nd.png,r2,5,1\n",
        encoding="utf-8",
    )
    metrics = tmp_path / "metrics.json"
    metrics.write_text(
        json.dumps({"pairs": [{"path": f"{p}.png", "ssim": s} for p, s in zip("abcd", (0.1, 0.2, 0.3, 0.9))]}),
        encoding="utf-8",
    )
    script = str(REPO / "eval" / "correlate_ratings.py")
    run = subprocess.run(
        [sys.executable, script, str(ratings), str(metrics), "--metric", "ssim", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    criteria = json.loads(run.stdout)["criteria"]
    # Mean readability 1.5, 2, 3.5, 4.5 ranks exactly like ssim; palette exactly reversed.
    assert criteria["readability"]["spearman_rho"] == 1.0
    assert criteria["readability"]["kendall_tau"] == 1.0
    assert criteria["palette"]["spearman_rho"] == -1.0
    # Raters' readability ranks 1,2,3,4 vs 1.5,1.5,3,4 (tie): Pearson of ranks = 4.5 / sqrt(5 · 4.5).
    assert criteria["readability"]["inter_rater_rho"] == round(4.5 / math.sqrt(5 * 4.5), 6)

    ratings.write_text("path,rater,readability,palette\na.png,r1,7,1\n", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, script, str(ratings), str(metrics)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "outside 1-5" in bad.stderr


def test_learned_frame_similarity_with_a_local_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pixelgen.quality.scores import learned_frame_similarity

    model_dir = tmp_path / "tiny-clip"
    model_dir.mkdir()
    write_tiny_clip(model_dir)
    rng = np.random.default_rng(5)
    frame0 = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    frame0[..., 3] = 255
    other = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    other[..., 3] = 255

    found = learned_frame_similarity([frame0, frame0.copy(), other], lpips=False, clip_source=str(model_dir))
    same, different = found["frames_clip_image_similarity"]
    assert same == pytest.approx(1.0, abs=1e-5)  # frame 0 against itself
    assert different < same
    assert found["clip_image_similarity"] == different  # the worst frame
    assert "lpips" not in found  # not asked for
    again = learned_frame_similarity([frame0, frame0.copy(), other], lpips=False, clip_source=str(model_dir))
    assert again == found

    missing = learned_frame_similarity([frame0, other], lpips=False, clip_source=str(tmp_path / "absent"))
    assert missing["clip_image_similarity"] is None
    assert missing["clip_image_similarity_reason"].startswith("not computed:")
    single = learned_frame_similarity([frame0], lpips=True, clip_source=str(model_dir))
    assert single["lpips"] is None and single["clip_image_similarity"] is None


def test_learned_frame_similarity_lpips_reports_why_not() -> None:
    from pixelgen.quality.scores import learned_frame_similarity

    frame = np.full((16, 16, 4), 200, np.uint8)
    found = learned_frame_similarity([frame, frame], lpips=True, clip_source=None)
    try:
        import lpips  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        assert found["lpips"] is None and "lpips" in found["lpips_reason"]
    else:  # pragma: no cover - only where lpips is installed
        assert found["lpips"] == 0.0 or found["lpips_reason"]  # identical frames, or why the weights are missing
