"""Plain progress lines (CI logs): what was done, the rate, and the time left."""

import io
import time

from pixelgen.commands.progress import BuildProgress


def test_plain_lines_name_the_asset_and_estimate_the_time_left():
    stream = io.StringIO()
    with BuildProgress(stream=stream) as progress:
        progress.add_total(4)
        progress.note("loading model 'sdxl' (repo) onto cpu…")
        time.sleep(0.05)
        progress.advance(1, images=1, label="hero")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "loading model 'sdxl' (repo) onto cpu…"
    assert lines[1].startswith("progress: 1/4 jobs hero ") and "img/s" in lines[1] and "s left" in lines[1]


def test_disabled_progress_prints_nothing():
    stream = io.StringIO()
    with BuildProgress(stream=stream, enabled=False) as progress:
        progress.add_total(1)
        progress.note("loading")
        progress.advance(1, label="hero")
    assert stream.getvalue() == ""
