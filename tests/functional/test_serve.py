"""``pixelgen serve`` in headless Chromium: the page follows a manifest edit over server-sent events."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from chromium_cdp import CHROMIUM, Browser
from server_helpers import free_port, listening_addresses, stop, wait_listening

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium) - live page not tested"),
]
pytest.importorskip("websockets")
MANIFEST = "manifests/small.yaml"


def _built(number: int) -> str:
    """JS: the page shows build ``number`` finished (up to date, or with gate warnings)."""
    return (f"document.getElementById('build').textContent === '{number}' && "
            "['ok', 'gates'].includes(document.getElementById('status').dataset.status)")


def test_live_page_updates_after_a_manifest_edit(project, tmp_path_factory):
    from PIL import Image

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pixelgen", "serve", MANIFEST, "--port", str(port), "--interval", "0.05"],
        cwd=project, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_listening(server, port)
        addresses = listening_addresses(port)
        assert addresses is None or (addresses and all(a.startswith("127.0.0.1:") for a in addresses)), addresses
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=10) as reply:
            assert reply.headers.get("Access-Control-Allow-Origin") is None  # no other origin reads it unless allowed
        with Browser(f"http://127.0.0.1:{port}/", tmp_path_factory.mktemp("profile")) as page:
            page.wait_for(_built(1), timeout=240)
            assert page.evaluate("document.querySelectorAll('#sheet figure').length") == 7
            page.wait_for("[...document.querySelectorAll('#sheet img')].every(i => i.complete && i.naturalWidth === 16)", timeout=30)
            assert page.evaluate("document.querySelector('#scores tbody').rows.length") == 5
            assert page.evaluate("document.getElementById('diffs').textContent") == "nothing changed"
            before = page.evaluate("document.querySelector('figure[data-path=\"ground/grass.png\"] img').src")

            # An edit of the manifest: the warm palette's red becomes blue; only the ground tiles change.
            path = project / MANIFEST
            path.write_text(path.read_text().replace('"#ff004d"', '"#29adff"'))
            page.wait_for(_built(2), timeout=240)
            changed = page.evaluate("[...document.querySelectorAll('#diffs .diff')].map(d => d.dataset.path).sort()")
            assert changed == ["ground/dirt.png", "ground/grass.png"]
            after = page.evaluate("document.querySelector('figure[data-path=\"ground/grass.png\"] img').src")
            assert after != before  # a new URL: the browser fetched the new image
            page.wait_for("[...document.querySelectorAll('#diffs img, #sheet img')].every(i => i.complete && i.naturalWidth > 0)", timeout=30)
            assert "SSIM" in page.evaluate("document.querySelector('#diffs .diff').textContent")
            shot = tmp_path_factory.mktemp("shot") / "serve.png"
            page.screenshot(shot)
            pixels = np.asarray(Image.open(shot).convert("RGB"))
            assert pixels.shape == (900, 1200, 3) and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
            if os.environ.get("PIXELGEN_SCREENSHOT_DIR"):
                shutil.copy(shot, Path(os.environ["PIXELGEN_SCREENSHOT_DIR"]) / "serve.png")

            # A broken manifest: the page shows the CLI's message and keeps the last good sheet.
            path.write_text(path.read_text().replace("steps: 2", "steps: 0"))
            page.wait_for("document.getElementById('build').textContent === '3' && document.getElementById('status').dataset.status === 'failed'", timeout=120)
            assert "/defaults/render/steps" in page.evaluate("document.getElementById('error').textContent")
            assert page.evaluate("document.querySelectorAll('#sheet figure').length") == 7
            path.write_text(path.read_text().replace("steps: 0", "steps: 2"))
            page.wait_for(_built(4), timeout=120)
            assert page.evaluate("document.getElementById('error').textContent") == ""

    finally:
        out, err = stop(server)
    assert "build 2: " in out and "change → page" in out, out + err
