"""Training datasets: scanning, captions, digests, check and prepare (numpy/Pillow only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixelgen.core.dataset import (
    caption_from_filename,
    check_dataset,
    dataset_listing,
    describe_dataset_change,
    fit_nearest,
    flatten_alpha,
    house_style_sprites,
    parse_captions,
    prepare_from_sprites,
    scan_dataset,
    upscale_nearest,
)
from pixelgen.formats.png import decode_png, encode_png


def write_sprites(folder: Path, count: int, *, seed: int = 0) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for name, image in house_style_sprites(count, seed=seed):
        (folder / f"{name}.png").write_bytes(encode_png(image))
        names.append(f"{name}.png")
    return names


def test_captions_from_file_names_drop_separators_and_frame_numbers():
    assert caption_from_filename("red_knight-02.png") == "red knight"
    assert caption_from_filename("slime.png") == "slime"
    assert caption_from_filename("007.png") == "007"
    assert parse_captions("prompt: pixel art, house style") == ("prompt", "pixel art, house style")
    assert parse_captions("sidecar") == ("sidecar", None)


def test_scan_reads_sidecar_captions_and_falls_back_to_the_file_name(tmp_path):
    write_sprites(tmp_path, 3)
    (tmp_path / "slime_00.txt").write_text("a green slime,\n  house style\n")
    (tmp_path / ".DS_Store").write_bytes(b"\0junk")  # hidden: ignored
    images, problems = scan_dataset(tmp_path, "sidecar")
    assert problems == []
    by_name = {image.name: image for image in images}
    assert sorted(by_name) == ["bat_01.png", "ghost_02.png", "slime_00.png"]
    assert by_name["slime_00.png"].caption == "a green slime, house style" and by_name["slime_00.png"].caption_source == "sidecar"
    assert by_name["bat_01.png"].caption == "bat" and by_name["bat_01.png"].caption_source == "filename"
    assert (by_name["bat_01.png"].width, by_name["bat_01.png"].height) == (64, 64)
    fixed, _ = scan_dataset(tmp_path, "prompt:house style")
    assert {image.caption for image in fixed} == {"house style"}


def test_a_non_image_or_corrupt_file_is_a_problem_naming_it(tmp_path):
    write_sprites(tmp_path, 2)
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    good = (tmp_path / "bat_01.png").read_bytes()
    (tmp_path / "broken.png").write_bytes(good[: len(good) // 2])  # truncated: the header reads, the pixels do not
    (tmp_path / "orphan.txt").write_text("a caption without an image")
    images, problems = scan_dataset(tmp_path, "sidecar")
    assert [image.name for image in images] == ["bat_01.png", "slime_00.png"]
    messages = {problem.name: problem.message for problem in problems}
    assert set(messages) == {"notes.pdf", "broken.png", "orphan.txt"}
    assert "not an image" in messages["notes.pdf"] and "not an image pixelgen can read" in messages["broken.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert [p.message for p in scan_dataset(empty, "sidecar")[1]] == ["holds no images"]


def test_the_listing_changes_with_every_image_and_caption_and_says_how():
    listing_before = {"a.png": ["1" * 64, "c1"], "b.png": ["2" * 64, "c2"]}
    listing_after = {"a.png": ["1" * 64, "c9"], "b.png": ["3" * 64, "c2"], "c.png": ["4" * 64, "c3"], "d.png": ["5" * 64, "c4"], "e.png": ["6" * 64, "c"]}
    assert describe_dataset_change(listing_before, listing_after) == "dataset changed (3 images added, 1 image changed, 1 caption changed)"
    assert describe_dataset_change(listing_after, {"a.png": ["1" * 64, "c9"]}) == "dataset changed (4 images removed)"
    assert describe_dataset_change(listing_before, dict(listing_before)) is None


def test_listing_digests_images_and_captions(tmp_path):
    write_sprites(tmp_path, 2)
    before = dataset_listing(scan_dataset(tmp_path, "sidecar")[0])
    (tmp_path / "bat_01.txt").write_text("a bat")
    after = dataset_listing(scan_dataset(tmp_path, "sidecar")[0])
    assert before["slime_00.png"] == after["slime_00.png"]
    assert before["bat_01.png"][0] == after["bat_01.png"][0] and before["bat_01.png"][1] != after["bat_01.png"][1]


def test_nearest_fit_never_invents_colours():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 4, (12, 20, 3)).astype(np.uint8) * 60
    for size in ((64, 32), (32, 64), (48, 48), (8, 8)):
        fitted = fit_nearest(image, size)
        assert fitted.shape == (size[1], size[0], 3)
        assert set(map(tuple, fitted.reshape(-1, 3))) <= set(map(tuple, image.reshape(-1, 3)))
    sprite = upscale_nearest(image, 4)
    assert sprite.shape == (48, 80, 3) and (sprite[::4, ::4] == image).all()
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    flat = flatten_alpha(rgba)
    assert flat[0, 0].tolist() == [10, 20, 30] and flat[1, 1].tolist() == [255, 255, 255]


def test_house_style_sprites_are_deterministic_pixel_art():
    first, again = house_style_sprites(4, seed=3), house_style_sprites(4, seed=3)
    assert [name for name, _ in first] == ["slime_00", "bat_01", "ghost_02", "beetle_03"]
    assert all((a == b).all() for (_, a), (_, b) in zip(first, again))
    image = first[0][1]
    assert image.shape == (64, 64, 4) and len(np.unique(image.reshape(-1, 4), axis=0)) <= 7
    assert (image[::8, ::8].repeat(8, 0).repeat(8, 1) == image).all()  # 8×8 cells


def test_check_reports_sizes_duplicates_missing_captions_and_non_pixel_art(tmp_path):
    write_sprites(tmp_path, 3)
    (tmp_path / "copy.png").write_bytes((tmp_path / "slime_00.png").read_bytes())
    (tmp_path / "slime_00.txt").write_text("slime")
    noise = np.random.default_rng(1).integers(0, 256, (48, 48, 3)).astype(np.uint8)
    (tmp_path / "photo.png").write_bytes(encode_png(noise))
    report = check_dataset(tmp_path)
    assert report["images"] == 5 and report["sizes"] == {"48x48": 1, "64x64": 4}
    assert report["duplicates"] == [["copy.png", "slime_00.png"]]
    assert report["missing_captions"] == ["bat_01.png", "copy.png", "ghost_02.png", "photo.png"]
    assert list(report["not_pixel_art"]) == ["photo.png"] and "colours" in report["not_pixel_art"]["photo.png"]
    assert report["problems"] == []


def test_prepare_upscales_sprites_by_an_integer_factor_with_captions(tmp_path):
    sprites = tmp_path / "sprites"
    sprites.mkdir()
    small = house_style_sprites(1)[0][1][::8, ::8]  # the native 8×8 sprite
    (sprites / "red_knight-01.png").write_bytes(encode_png(small))
    written = prepare_from_sprites(sprites, tmp_path / "out", resolution=60)
    assert written == ["red_knight-01.png"]
    big = decode_png((tmp_path / "out" / "red_knight-01.png").read_bytes())
    assert big.shape == (56, 56, 4) and (big[::7, ::7] == small).all()  # 7 = 60 // 8
    assert (tmp_path / "out" / "red_knight-01.txt").read_text() == "red knight\n"
    (sprites / "bad.png").write_bytes(b"nope")
    from pixelgen.errors import InputError

    with pytest.raises(InputError, match="bad.png"):
        prepare_from_sprites(sprites, tmp_path / "out2", resolution=64)


def test_images_that_decoded_once_are_not_decoded_again_until_they_change(tmp_path, monkeypatch):
    import pixelgen.core.dataset as dataset
    from pixelgen.files.hashing import FileDigestCache

    folder, cache = tmp_path / "refs", tmp_path / "cache"
    cache.mkdir()
    write_sprites(folder, 3)
    decodes = []
    real = dataset._image_problem
    monkeypatch.setattr(dataset, "_image_problem", lambda path, max_pixels: decodes.append(path.name) or real(path, max_pixels))

    def scan():
        digests, decoded = FileDigestCache(cache / "file-digests.json"), dataset.DecodedImages(cache / "decoded-images.json")
        result = scan_dataset(folder, "sidecar", digests, decoded=decoded)
        decoded.save()
        digests.save()
        return result

    first = scan()
    assert sorted(decodes) == ["bat_01.png", "ghost_02.png", "slime_00.png"]
    decodes.clear()
    again = scan()
    assert decodes == [] and [(i.name, i.width, i.height, i.sha256) for i in again[0]] == [(i.name, i.width, i.height, i.sha256) for i in first[0]]
    data = (folder / "bat_01.png").read_bytes()
    (folder / "bat_01.png").write_bytes(data[: len(data) // 2])
    images, problems = scan()
    assert decodes == ["bat_01.png"] and [p.name for p in problems] == ["bat_01.png"]
    # A memo written with another key is ignored.
    (cache / "decoded-images.json").write_text('{"sizes": {}, "mac": "forged"}')
    assert dataset.DecodedImages(cache / "decoded-images.json").sizes == {}
