"""``pixelgen mcp`` driven by the MCP SDK's own client, the server in a subprocess."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")
import anyio  # noqa: E402
from conftest import REPO  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from server_helpers import free_port, listening_addresses, stop, wait_listening  # noqa: E402

pytestmark = pytest.mark.slow
MANIFEST = "manifests/small.yaml"


def _server(project: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "pixelgen", "mcp", "--root", str(project), *extra],
        env={"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}, cwd=str(project),
    )


def _text(result) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")


def test_tools_build_with_progress_and_png_resource(project):
    progress: list[tuple[float, float | None]] = []

    async def session() -> None:
        async with Client(_server(project), read_timeout_seconds=300) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"validate", "plan", "status", "build", "pixelize", "diff", "verify", "deploy", "add_asset", "edit_asset"} <= names

            checked = await client.call_tool("validate", {"manifest": MANIFEST})
            assert not checked.is_error and checked.structured_content["images"] == 7

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append((done, total))

            built = await client.call_tool("build", {"manifest": MANIFEST}, progress_callback=on_progress)
            assert not built.is_error, _text(built)
            summary = built.structured_content
            assert summary["built"] == 7 and summary["rendered"] == 7
            png_uri = "pixelgen://file/assets_out/small/hero/seed1.png"
            assert png_uri in summary["resources"]

            listed = {str(r.uri): r for r in (await client.list_resources()).resources}
            assert listed[png_uri].mime_type == "image/png"
            assert "pixelgen://file/manifests/small.lock.json" in listed
            assert "pixelgen://file/assets_out/small/quality.json" in listed

            contents = (await client.read_resource(png_uri)).contents[0]
            assert contents.mime_type == "image/png"
            data = base64.b64decode(contents.blob)
            assert data == (project / "assets_out" / "small" / "hero" / "seed1.png").read_bytes()
            quality = (await client.read_resource("pixelgen://file/assets_out/small/quality.json")).contents[0]
            assert json.loads(quality.text)["schema"] == 1

            state = await client.call_tool("status", {"manifest": MANIFEST})
            assert state.structured_content["stale"] == 0
            verified = await client.call_tool("verify", {"manifest": MANIFEST})
            assert verified.structured_content["ok"] is True
            deployed = await client.call_tool("deploy", {"manifest": MANIFEST, "dir": "game/art"})
            assert "hero/seed1.png" in deployed.structured_content["copied"]
            assert (project / "game" / "art" / "hud" / "hud.sheet.png").is_file()

            # The edit → rebuild → review loop: a palette edit, then the diff against the old lock.
            (project / "old.lock.json").write_bytes((project / "manifests" / "small.lock.json").read_bytes())
            path = project / MANIFEST
            path.write_text(path.read_text().replace('"#ff004d"', '"#29adff"'))
            planned = await client.call_tool("plan", {"manifest": MANIFEST})
            stale = {a["id"]: a["reasons"] for a in planned.structured_content["assets"] if not a["up_to_date"]}
            assert list(stale) == ["ground"] and "palette changed" in stale["ground"]
            rebuilt = await client.call_tool("build", {"manifest": MANIFEST})
            assert rebuilt.structured_content["built"] == 2 and rebuilt.structured_content["rendered"] == 0
            changes = (await client.call_tool("diff", {"manifest": MANIFEST, "against": "old.lock.json"})).structured_content["result"]
            assert sorted(c["path"] for c in changes) == ["ground/dirt.png", "ground/grass.png"]
            side_by_side = await client.read_resource(changes[0]["resource"])
            assert side_by_side.contents[0].mime_type == "image/png"

            shutil.copy(REPO / "docs" / "images" / "pixelize-before.png", project / "render.png")
            pixelized = await client.call_tool("pixelize", {"image": "render.png", "output": "out/hero.png", "palette": "pico-8", "background": "transparent"})
            assert not pixelized.is_error, _text(pixelized)
            assert pixelized.structured_content["colors"] <= 16 and (project / "out" / "hero.png").is_file()
            unreadable = await client.call_tool("pixelize", {"image": "manifests/small.yaml", "output": "out/x.png"})
            assert unreadable.is_error and _text(unreadable).startswith("manifests/small.yaml: is not an image")

    anyio.run(session)
    # One notification per finished job (renders, then post-processing), ending at total.
    assert len(progress) >= 7
    assert progress[-1][0] == progress[-1][1] == 14
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_paths_outside_the_root_are_refused(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.png").write_bytes(b"not yours")
    (outside / "evil.yaml").write_text((project / MANIFEST).read_text())
    (project / "link").symlink_to(outside, target_is_directory=True)

    async def session() -> None:
        async with Client(_server(project), read_timeout_seconds=120) as client:
            absolute = await client.call_tool("validate", {"manifest": str(outside / "evil.yaml")})
            assert absolute.is_error and "is outside the server root" in _text(absolute)
            dotdot = await client.call_tool("status", {"manifest": f"../{outside.name}/evil.yaml"})
            assert dotdot.is_error and "is outside the server root" in _text(dotdot)
            through_link = await client.call_tool("validate", {"manifest": "link/evil.yaml"})
            assert through_link.is_error and "through a symlink" in _text(through_link)
            deploy = await client.call_tool("deploy", {"manifest": MANIFEST, "dir": "link/game"})
            assert deploy.is_error and "through a symlink" in _text(deploy)
            (project / "manifests" / "away.yaml").write_text((project / MANIFEST).read_text().replace("name: small", f"name: away\ndeploy: {{dir: {outside}/game}}"))
            away = await client.call_tool("build", {"manifest": "manifests/away.yaml"})
            assert away.is_error and "the deploy dir of manifests/away.yaml" in _text(away) and "is outside the server root" in _text(away)
            with pytest.raises(Exception, match="symlink"):
                await client.read_resource("pixelgen://file/link/secret.png")
            # The CLI's message for bad input, word for word.
            missing = await client.call_tool("validate", {"manifest": "manifests/nope.yaml"})
            assert missing.is_error and _text(missing) == "manifests/nope.yaml: no such manifest file"

    anyio.run(session)
    assert not (outside / "game").exists()


def test_cancelled_build_leaves_nothing_half_written(project):
    # Enough work that the cancel lands mid-build: 8 images rendered at 256 px.
    path = project / MANIFEST
    path.write_text(path.read_text().replace("width: 64, height: 64, steps: 2", "width: 256, height: 256, steps: 4"))
    out_dir = project / "assets_out" / "small"

    async def session() -> None:
        async with Client(_server(project), read_timeout_seconds=300) as client:
            first_job = anyio.Event()

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                if done >= 1:
                    first_job.set()

            async with anyio.create_task_group() as group:
                async def call() -> None:
                    await client.call_tool("build", {"manifest": MANIFEST}, progress_callback=on_progress)
                    raise AssertionError("the build finished before it was cancelled")

                group.start_soon(call)
                with anyio.fail_after(240):
                    await first_job.wait()
                group.cancel_scope.cancel()  # the client sends notifications/cancelled
            # The server is still usable, and the build lock was released: a status answers now.
            with anyio.fail_after(60):
                state = await client.call_tool("status", {"manifest": MANIFEST})
            assert state.structured_content["stale"] == 5

    anyio.run(session)
    assert not (project / "manifests" / "small.lock.json").exists()
    assert not out_dir.exists() or not any(out_dir.rglob("*.png"))
    assert not list(project.rglob("*.tmp"))
    cached_renders = list((project / "manifests" / ".pixelgen" / "cache" / "jobs" / "render").rglob("*"))
    assert cached_renders, "renders finished before the cancel should stay cached"


def test_edit_and_add_asset_keep_comments_and_validate(project):
    path = project / MANIFEST
    original = path.read_text()

    async def session() -> None:
        async with Client(_server(project), read_timeout_seconds=120) as client:
            edited = await client.call_tool("edit_asset", {"manifest": MANIFEST, "id": "hero", "patch": {"prompt": "a {class} hero with a shield", "variants": None}})
            assert not edited.is_error, _text(edited)
            added = await client.call_tool("add_asset", {"manifest": MANIFEST, "after": "hero", "asset": {"id": "chest", "kind": "sprite", "prompt": "a treasure chest", "size": [16, 16]}})
            assert not added.is_error, _text(added)
            before_bad = path.read_text()
            bad = await client.call_tool("edit_asset", {"manifest": MANIFEST, "id": "slime", "patch": {"size": [0, 16]}})
            assert bad.is_error and "/assets/" in _text(bad) and "0 is too small" in _text(bad) and str(path.name) in _text(bad)
            assert path.read_text() == before_bad
            unknown = await client.call_tool("edit_asset", {"manifest": MANIFEST, "id": "dragon", "patch": {"prompt": "x"}})
            assert unknown.is_error and "no asset with id 'dragon'" in _text(unknown)

    anyio.run(session)
    text = path.read_text()
    assert text.startswith("# A small manifest of every asset kind")
    assert 'prompt: "a {class} hero with a shield"' not in original and "a {class} hero with a shield" in text
    assert "variants" not in text.split("- id: slime")[0]
    assert text.index("- id: hero") < text.index("- id: chest") < text.index("- id: slime")
    assert "size: [16, 16]" in text.split("- id: chest")[1].split("- id:")[0]
    # Everything the patches did not touch is byte for byte the same.
    assert text.split("- id: slime")[1] == original.split("- id: slime")[1]


def test_http_transport_on_localhost(project):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pixelgen", "mcp", "--transport", "http", "--port", str(port), "--root", str(project)],
        cwd=project, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_listening(server, port)

        async def session() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=120) as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                assert "build" in names
                checked = await client.call_tool("validate", {"manifest": MANIFEST})
                assert checked.structured_content["assets"] == 5

        anyio.run(session)
        # DNS rebinding: a page on another host name that resolves to 127.0.0.1 is refused.
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/mcp", body=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                           headers={"Host": "attacker.example", "Content-Type": "application/json",
                                    "Accept": "application/json, text/event-stream"})
        refused = connection.getresponse().status
        connection.close()
        assert refused in (400, 403, 421), refused
        addresses = listening_addresses(port)
        assert addresses is None or (addresses and all(a.startswith("127.0.0.1:") for a in addresses)), addresses
    finally:
        stop(server)
