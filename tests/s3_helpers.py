"""A local S3-compatible server (moto's standalone server) for the shared-cache tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

S3_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "pixelgen-test",
    "AWS_SECRET_ACCESS_KEY": "pixelgen-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """``values`` set in os.environ for the block, the previous values (or absence) restored after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def s3_server() -> Iterator[dict[str, str]]:
    """Start moto's server on a free local port; yields the environment a client (or a subprocess) needs."""
    pytest.importorskip("s3fs", reason="pip install 'pixelgen[s3]'")
    server_module = pytest.importorskip("moto.server", reason="pip install 'moto[server]' (in the dev extra)")
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    environment = {**S3_ENVIRONMENT, "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    try:
        with patched_environ(environment):
            yield environment
    finally:
        server.stop()


def new_bucket() -> str:
    """A fresh bucket on the running server; returns its s3:// URL with a prefix."""
    import s3fs

    name = f"pixelgen-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir(name)
    return f"s3://{name}/cache"
