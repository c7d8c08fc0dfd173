"""The PixiJS hot-reload loop of docs/hot-reload.md, run as written in headless Chromium.

A game page (PixiJS from tests/js/node_modules, served from the game's public folder) runs the
documented snippet against ``pixelgen serve --deploy … --allow-origin …``; after a manifest edit
the sprite's texture is the new file, decoded by the browser.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chromium_cdp import CHROMIUM, Browser
from conftest import REPO
from server_helpers import free_port, stop, wait_listening

PIXI = REPO / "tests" / "js" / "node_modules" / "pixi.js" / "dist" / "pixi.min.js"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(not PIXI.is_file(), reason="PixiJS not installed: cd tests/js && npm ci"),
]
MANIFEST = "manifests/small.yaml"

PAGE = """<!doctype html><html><body><script src="pixi.min.js"></script><script>
const sprites = new Map();
const spritesUsing = (path) => sprites.get(path) ?? [];
window.swaps = [];
async function start() {{
  for (const path of ["ground/grass.png", "hero/seed1.png"]) {{
    sprites.set(path, [new PIXI.Sprite(await PIXI.Assets.load(`art/${{path}}`))]);
  }}
  window.started = true;
}}
start();
{snippet}
</script></body></html>
"""

# The centre pixel of the texture a sprite shows, decoded by the browser.
CENTRE_PIXEL = """(() => {
  const source = spritesUsing("ground/grass.png")[0].texture.source.resource;
  const canvas = new OffscreenCanvas(source.width, source.height);
  const context = canvas.getContext("2d");
  context.drawImage(source, 0, 0);
  return Array.from(context.getImageData(0, 0, source.width, source.height).data);
})()"""


def documented_snippet(serve_port: int) -> str:
    text = (REPO / "docs" / "hot-reload.md").read_text("utf-8")
    block = re.search(r"## PixiJS.*?```js\n(.*?)```", text, re.S)
    assert block, "docs/hot-reload.md lost its PixiJS snippet"
    code = block.group(1).replace('import { Assets } from "pixi.js";', "const { Assets } = PIXI;")
    code = code.replace("http://127.0.0.1:8000/", f"http://127.0.0.1:{serve_port}/")
    # Record each swap so the test can see it happened.
    return code.replace("sprite.texture = texture;", "{ sprite.texture = texture; window.swaps.push(image.path); }")


def test_documented_pixi_loop_swaps_the_texture(project, tmp_path_factory):
    from pixelgen.formats.png import decode_png

    # Only the two assets the page shows: less to build.
    path = project / MANIFEST
    text = path.read_text()
    text = text[: text.index("  - id: slime")] + text[text.index("  - id: ground") : text.index("  - id: hud")]
    path.write_text(text)
    public = project / "game" / "public"
    public.mkdir(parents=True)
    shutil.copy(PIXI, public / "pixi.min.js")
    serve_port, game_port = free_port(), free_port()
    game = ThreadingHTTPServer(("127.0.0.1", game_port), functools.partial(SimpleHTTPRequestHandler, directory=str(public)))
    game.daemon_threads = True
    game_thread = threading.Thread(target=game.serve_forever, daemon=True)
    game_thread.start()
    server = subprocess.Popen(
        [sys.executable, "-m", "pixelgen", "serve", MANIFEST, "--port", str(serve_port), "--interval", "0.05",
         "--deploy", "game/public/art", "--allow-origin", f"http://127.0.0.1:{game_port}"],
        cwd=project, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_listening(server, serve_port)
        grass = public / "art" / "ground" / "grass.png"
        started = time.monotonic()
        while not grass.is_file():
            assert server.poll() is None and time.monotonic() - started < 240, server.communicate()
            time.sleep(0.1)
        (public / "index.html").write_text(PAGE.format(snippet=documented_snippet(serve_port)))
        with Browser(f"http://127.0.0.1:{game_port}/index.html", tmp_path_factory.mktemp("profile")) as page:
            page.wait_for("window.started === true", timeout=60)
            before = page.evaluate(CENTRE_PIXEL)
            assert len(before) == 16 * 16 * 4
            first = decode_png(grass.read_bytes())

            path.write_text(path.read_text().replace('"#ff004d"', '"#29adff"'))
            page.wait_for("window.swaps.includes('ground/grass.png')", timeout=240)
            after = page.evaluate(CENTRE_PIXEL)
            now = decode_png(grass.read_bytes())
            assert not (first == now).all()
            # The browser shows exactly the new file's pixels (opaque tile: no premultiplication).
            assert after == now.reshape(-1).tolist() and after != before
            assert "hero/seed1.png" not in page.evaluate("window.swaps")  # unchanged files are not reloaded
    finally:
        stop(server)
        game.shutdown()
        game.server_close()
        game_thread.join(timeout=5)
