"""The MCP client configuration in the README works as written."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("mcp")
import anyio  # noqa: E402
from conftest import REPO  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402

pytestmark = pytest.mark.slow


def readme_config() -> dict:
    text = (REPO / "README.md").read_text("utf-8")
    block = re.search(r"<!-- mcp-client-config[^>]*-->\s*```json\n(.*?)```", text, re.S)
    assert block, "the README lost its MCP client configuration"
    return json.loads(block.group(1))["mcpServers"]["pixelgen"]


def test_readme_mcp_config_starts_a_working_server():
    config = readme_config()
    if not (REPO / config["command"]).exists():
        pytest.skip(f"{config['command']} not installed (bash scripts/setup.sh creates it)")
    # As an MCP client runs it: the command and args as written, from the project folder.
    server = StdioServerParameters(command=config["command"], args=config["args"], env=config.get("env"), cwd=str(REPO))

    async def session() -> None:
        async with Client(server, read_timeout_seconds=120) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert {"build", "edit_asset", "deploy"} <= tools
            checked = await client.call_tool("validate", {"manifest": "manifests/demo.yaml"})
            assert not checked.is_error and checked.structured_content["assets"] == 7
            refused = await client.call_tool("validate", {"manifest": "../outside.yaml"})
            assert refused.is_error and "is outside the server root" in refused.content[0].text

    anyio.run(session)
