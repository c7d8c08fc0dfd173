"""A local Google Cloud Storage emulator (gcp-storage-emulator, pure Python) for the shared-cache tests of gs://."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from s3_helpers import patched_environ


@contextmanager
def gcs_server() -> Iterator[dict[str, str]]:
    """Start the emulator in memory on a free local port; yields the environment gcsfs (or a subprocess) needs."""
    # gcsfs otherwise asks Google's storage-control API (which no emulator serves) for every bucket's layout,
    # and warns each time it falls back. Read when gcsfs is imported, so set first.
    os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    pytest.importorskip("gcsfs", reason="pip install gcsfs")
    emulator = pytest.importorskip("gcp_storage_emulator.server", reason="pip install gcp-storage-emulator")
    import logging

    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = emulator.create_server("127.0.0.1", port, in_memory=True)
    server.start()
    # gcsfs sends every request to STORAGE_EMULATOR_HOST; an anonymous token keeps it from looking for Google credentials.
    environment = {"STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}", "FSSPEC_GCS_TOKEN": "anon", "FSSPEC_GCS_PROJECT": "pixelgen-test",
                   "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
    try:
        with patched_environ(environment):
            yield environment
    finally:
        server.stop()


def new_gcs_bucket() -> str:
    """A fresh bucket on the running emulator; returns its gs:// URL with a prefix."""
    import gcsfs

    name = f"pixelgen-{uuid.uuid4().hex[:12]}"
    gcsfs.GCSFileSystem(skip_instance_cache=True).mkdir(name)
    return f"gs://{name}/cache"
