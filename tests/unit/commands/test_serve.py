"""serve's event fan-out and its HTTP endpoints (no build: the state is published by hand)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from pixelgen.commands.serve import Events, _handler


def test_a_late_subscriber_gets_the_latest_state_first():
    events = Events()
    events.publish("building", {"build": 1})
    events.publish("state", {"build": 1, "status": "ok"})
    inbox = events.subscribe()
    assert inbox.get_nowait() == ("state", json.dumps({"build": 1, "status": "ok"}))
    events.publish("building", {"build": 2})
    assert inbox.get_nowait()[0] == "building"
    events.unsubscribe(inbox)
    events.publish("state", {"build": 2})
    assert inbox.empty()


@pytest.fixture
def server(tmp_path):
    from http.server import ThreadingHTTPServer

    out = tmp_path / "out"
    (out / "hero").mkdir(parents=True)
    (out / "hero" / "a.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "secret.txt").write_text("no")
    events = Events()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(lambda: out, events, "http://localhost:5173"))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", events
    events.close()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_files_inside_out_only_and_the_allowed_origin(server):
    base, events = server
    with urllib.request.urlopen(f"{base}/out/hero/a.png?v=1") as reply:
        assert reply.read() == b"\x89PNG fake" and reply.headers["Content-Type"] == "image/png"
        assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    for path in ("/out/../secret.txt", "/out/%2e%2e/secret.txt", "/nope"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + path)
        assert refused.value.code == 404
    with urllib.request.urlopen(base + "/") as reply:
        assert b"new EventSource(\"/events\")" in reply.read()


def test_event_stream_delivers_published_states(server):
    base, events = server
    events.publish("state", {"build": 7})
    with urllib.request.urlopen(f"{base}/events", timeout=10) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        assert stream.readline() == b"event: state\n"
        assert json.loads(stream.readline().decode().removeprefix("data: ")) == {"build": 7}
        assert stream.readline() == b"\n"
        events.publish("building", {"build": 8})
        assert stream.readline() == b"event: building\n"
