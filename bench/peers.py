"""Adapters that run third-party "AI pseudo-pixel-art -> true pixel art" tools on one image file.

Each adapter takes a path and returns a ``PeerOutput``: the tool's result as a
native-resolution RGBA uint8 array (one pixel per detected cell), or the tool's
refusal / exception text, and the wall time of the whole call (decode the file
the way the tool's README does -> tool in its documented automatic mode ->
RGBA array -> PNG encode in memory with Pillow). Options are the tools' own
defaults, never tuned to our data. Their stdout/stderr and logging are
silenced. Thread limits are the caller's business (environment variables set
before anything is imported).

Every peer is imported lazily inside its adapter, so this module imports with
none installed; a missing peer yields ``PeerOutput(None, "not installed: ...", 0.0)``.
The import is done before the clock starts (a one-off cost, not the tool's).

Per tool (versions read: the ones named; licences from their metadata):

* ``pixel-snapper`` 0.1.0 (MIT; Rust binding of Sprite Fusion Pixel Snapper).
  Entry point ``pixel_snapper.process_image(png_bytes, PixelSnapperConfig())``
  (the README's library call). Defaults: ``k_colors=16`` (the CLI's default
  too), ``pixel_size_override=None`` (grid detected). It decodes the file's
  bytes itself (its decoder has PNG and JPEG only: other formats are first
  re-encoded by Pillow as a lossless PNG, inside the timing) and returns PNG
  bytes already at one pixel per cell, RGBA (alpha kept as is; opaque
  colours quantized to at most k). Converted: Pillow decode -> RGBA.
* ``perfect-pixel`` 0.1.4 (MIT). Entry point
  ``perfect_pixel.perfect_pixel.get_perfect_pixel(rgb)``, the OpenCV backend
  (imported explicitly, so a missing cv2 reads "not installed" rather than
  silently running the numpy backend). Input decoded as its README does:
  ``cv2.imread(path, IMREAD_COLOR)`` + BGR->RGB (any alpha channel dropped).
  Defaults: ``sample_method="center"``, ``grid_size=None`` (FFT grid
  detection, gradient fallback), ``min_size=4``, ``peak_width=6``,
  ``refine_intensity=0.25``, ``fix_square=True``. Returns
  ``(w, h, rgb)`` with rgb at one pixel per cell; on failure it prints a
  message and returns ``(None, None, input)``, reported here as an error with
  its last printed line. Converted: RGB + opaque alpha.
* ``unfake`` 1.0.7 (MIT; Python/Rust port of unfake.js). Entry point
  ``unfake.process_image_sync(path)`` (README "Basic processing"), with the
  function defaults: ``max_colors=None`` (auto colour count),
  ``detect_method="auto"`` (runs-based, edge-aware fallback),
  ``downscale_method="dominant"``, ``snap_grid=True``, ``alpha_threshold=128``,
  no cleanup, ``transparent_background=False``. It opens the path with Pillow
  (RGBA) and returns ``{"image_array": RGBA at 1/scale, "manifest": ...}``;
  the integer scale it detected has already been divided out (after its grid
  snap crop). When detection finds scale 1 it returns the (colour-quantized)
  input at full size: that is its answer, kept as is.
* ``proper-pixel-art`` 2.0.0 (MIT). Entry point
  ``proper_pixel_art.pixelate(Image.open(path))`` with ``config=None``
  (``PixelateConfig()`` defaults: colour method "dominant", initial upscale 2,
  pixel width auto, ``transparent_background=False``, ``scale_result=None``).
  Returns ``PixelateResult.image``, an RGBA PIL image with one pixel per mesh
  cell (``scale_result=None`` means no upscale, so nothing to divide).
  Converted: ``np.asarray(image.convert("RGBA"))``.
* ``ai2pixelart`` 0.1.4 — PolyForm Noncommercial 1.0.0 (code) / CC BY-NC 4.0
  (weights): measured here only, never a dependency of pixelgen. Entry point
  ``ai2pixelart.clean(img)``, the classical "simple" approach that its CLI's
  ``clean`` command runs by default (the neural approaches need torch and
  downloaded weights and are opt-in). Input decoded as the CLI does:
  ``np.array(Image.open(path).convert("RGB"))`` (alpha dropped). Defaults:
  ``merge_de=3.0``, palette extracted, grid estimated, ``denoise=True``,
  ``smooth=True``, ``granularity=1``, ``consensus=False``. Returns
  ``CleanResult.image`` (rows, cols, 3) at one pixel per cell; when no grid is
  found (``grid is None``) it treats the input as already native and returns
  it full size, kept as is. Converted: RGB + opaque alpha.

No adapter rescales: every tool's default output is already one pixel per cell.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PeerOutput:
    image: np.ndarray | None  # uint8 RGBA (H, W, 4) at native resolution, None on refusal/failure
    error: str | None  # the tool's refusal or exception text (first line), None on success
    seconds: float  # decode the file -> tool -> PNG-encode the result in memory


class _Refused(Exception):
    """A tool declined the image without raising (e.g. returned no grid)."""


@contextlib.contextmanager
def _silenced(captured: io.StringIO) -> Iterator[None]:
    """Mute a tool: Python-level stdout/stderr go to ``captured`` (to read a
    refusal message from), the OS-level descriptors go to /dev/null (Rust and
    C code print there directly), and logging and warnings are off."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved_fds: list[tuple[int, int]] = []
    devnull = os.open(os.devnull, os.O_WRONLY)
    previous_disable = logging.root.manager.disable
    try:
        for fd in (1, 2):
            try:
                saved_fds.append((fd, os.dup(fd)))
                os.dup2(devnull, fd)
            except OSError:  # no such descriptor (detached process): nothing to mute
                pass
        logging.disable(logging.CRITICAL)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(captured),
            contextlib.redirect_stderr(captured),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous_disable)
        for fd, saved in saved_fds:
            os.dup2(saved, fd)
            os.close(saved)
        os.close(devnull)


def _import(load: Callable[[], Any]) -> Any:
    """Run a peer's import muted, and undo any change it makes to the root
    logger (unfake calls ``logging.basicConfig(level=INFO)`` at import)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with _silenced(io.StringIO()):
            return load()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _as_rgba(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise TypeError(f"unexpected tool output {array.dtype} {array.shape}")
    if array.shape[2] == 3:
        alpha = np.full(array.shape[:2] + (1,), 255, np.uint8)
        array = np.concatenate([array, alpha], axis=2)
    return np.ascontiguousarray(array)


_Work = Callable[[Any, Path, io.StringIO], np.ndarray]


def _run(load: Callable[[], Any], work: _Work, path: Path) -> PeerOutput:
    """Import the peer (untimed), then time ``work`` (decode + tool + convert)
    and the PNG encode of its result; any exception becomes ``error``.
    ``work`` gets the peer, the path and what the tool printed so far."""
    try:
        from PIL import Image

        module = _import(load)
    except Exception as exc:  # noqa: BLE001 - a broken install is "not installed" too
        return PeerOutput(None, f"not installed: {type(exc).__name__}: {_first_line(exc)}", 0.0)

    captured = io.StringIO()
    t0 = time.perf_counter()
    try:
        with _silenced(captured):
            rgba = _as_rgba(work(module, Path(path), captured))
            Image.fromarray(rgba).save(io.BytesIO(), format="PNG")
    except KeyboardInterrupt:
        raise
    # BaseException: a Rust panic surfaces as pyo3's PanicException, which is not an Exception.
    except BaseException as exc:  # noqa: BLE001 - a peer failing is a result, not a crash
        seconds = time.perf_counter() - t0
        if isinstance(exc, _Refused):
            message = _first_line(str(exc)) or "refused"
        else:
            message = f"{type(exc).__name__}: {_first_line(str(exc))}"
        return PeerOutput(None, message, seconds)
    return PeerOutput(rgba, None, time.perf_counter() - t0)


# --- pixel-snapper ---------------------------------------------------------


def _load_pixel_snapper() -> Any:
    import pixel_snapper

    return pixel_snapper


_DECODED_BY_PIXEL_SNAPPER = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # PNG, JPEG signatures


def _work_pixel_snapper(pixel_snapper: Any, path: Path, printed: io.StringIO) -> np.ndarray:
    from PIL import Image

    data = path.read_bytes()
    if not data.startswith(_DECODED_BY_PIXEL_SNAPPER):
        # Its Rust decoder reads only PNG and JPEG; anything else (WebP, ...) is
        # handed over as a lossless PNG of the same pixels, so the benchmark
        # measures its grid and colours rather than its codec list.
        with Image.open(io.BytesIO(data)) as image:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
        data = buffer.getvalue()
    # The tool decodes the bytes itself; its PNG result is one pixel per cell.
    png = pixel_snapper.process_image(data, pixel_snapper.PixelSnapperConfig())
    with Image.open(io.BytesIO(bytes(png))) as image:
        return np.asarray(image.convert("RGBA"))


def run_pixel_snapper(path: Path) -> PeerOutput:
    return _run(_load_pixel_snapper, _work_pixel_snapper, path)


# --- perfect-pixel ---------------------------------------------------------


def _load_perfect_pixel() -> Any:
    import cv2
    from perfect_pixel.perfect_pixel import get_perfect_pixel

    return cv2, get_perfect_pixel


def _work_perfect_pixel(module: Any, path: Path, printed: io.StringIO) -> np.ndarray:
    cv2, get_perfect_pixel = module
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise _Refused(f"cv2.imread could not read {path.name}")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    width, _, out = get_perfect_pixel(rgb)
    if width is None:
        # It explains a refusal only by printing; its last line is the verdict.
        lines = [line for line in printed.getvalue().splitlines() if line.strip()]
        raise _Refused(lines[-1] if lines else "no grid detected")
    return out


def run_perfect_pixel(path: Path) -> PeerOutput:
    return _run(_load_perfect_pixel, _work_perfect_pixel, path)


# --- unfake ----------------------------------------------------------------


def _load_unfake() -> Any:
    import unfake

    return unfake


def _work_unfake(unfake: Any, path: Path, printed: io.StringIO) -> np.ndarray:
    # Its detected integer scale is already divided out (manifest
    # processing_steps["downscaling"]["scale_factor"]); image_array is RGBA.
    result = unfake.process_image_sync(str(path))
    return result["image_array"]


def run_unfake(path: Path) -> PeerOutput:
    return _run(_load_unfake, _work_unfake, path)


# --- proper-pixel-art ------------------------------------------------------


def _load_proper_pixel_art() -> Any:
    import proper_pixel_art

    return proper_pixel_art


def _work_proper_pixel_art(proper_pixel_art: Any, path: Path, printed: io.StringIO) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        # Default config: scale_result=None, so the image is one pixel per mesh cell.
        result = proper_pixel_art.pixelate(image)
    return np.asarray(result.image.convert("RGBA"))


def run_proper_pixel_art(path: Path) -> PeerOutput:
    return _run(_load_proper_pixel_art, _work_proper_pixel_art, path)


# --- ai2pixelart (non-commercial licence: measured only) -------------------


def _load_ai2pixelart() -> Any:
    from ai2pixelart.pipeline import clean

    return clean


def _work_ai2pixelart(clean: Any, path: Path, printed: io.StringIO) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        rgb = np.array(image.convert("RGB"))
    return clean(rgb).image


def run_ai2pixelart(path: Path) -> PeerOutput:
    return _run(_load_ai2pixelart, _work_ai2pixelart, path)


PEERS: dict[str, Callable[[Path], PeerOutput]] = {
    "pixel-snapper": run_pixel_snapper,
    "perfect-pixel": run_perfect_pixel,
    "unfake": run_unfake,
    "proper-pixel-art": run_proper_pixel_art,
    "ai2pixelart": run_ai2pixelart,
}

_LOADERS: dict[str, Callable[[], Any]] = {
    "pixel-snapper": _load_pixel_snapper,
    "perfect-pixel": _load_perfect_pixel,
    "unfake": _load_unfake,
    "proper-pixel-art": _load_proper_pixel_art,
    "ai2pixelart": _load_ai2pixelart,
}


def available() -> list[str]:
    """Names in ``PEERS`` whose tool imports here, in ``PEERS`` order."""
    names = []
    for name, load in _LOADERS.items():
        try:
            _import(load)
        except Exception:  # noqa: BLE001 - any import failure means unavailable
            continue
        names.append(name)
    return names


def main() -> None:
    """``python bench/peers.py IMAGE...``: run every available peer on each image."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("images", nargs="+", type=Path)
    args = parser.parse_args()
    for image in args.images:
        for name, adapter in PEERS.items():
            out = adapter(image)
            got = "-" if out.image is None else f"{out.image.shape[1]}x{out.image.shape[0]}"
            print(f"{image.name}\t{name}\t{got}\t{out.seconds:.3f}s\t{out.error or ''}")


if __name__ == "__main__":
    main()
