"""``pixelgen serve``: a live page of a manifest's build, updated over server-sent events.

The page (``pixelgen/templates/serve.html``) shows the contact sheet, the
scores and gates of ``quality.json``, and for every output the last build
changed, a side-by-side diff against the lock as it was before that build.
Like ``watch``, the server rebuilds whenever the manifest or a file it names
changes; each build pushes one ``state`` event to every open page (a
``building`` event first). Standard library only: ``http.server`` with one
thread per connection, bound to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from pixelgen.errors import PixelgenError

log = logging.getLogger("pixelgen")
KEEPALIVE_SECONDS = 15.0
CONTENT_TYPES = {".png": "image/png", ".gif": "image/gif", ".json": "application/json", ".html": "text/html; charset=utf-8"}


class Events:
    """Fan-out of events to every connected page; a late page gets the latest state first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: list[queue.Queue[tuple[str, str] | None]] = []
        self.latest: dict[str, Any] | None = None

    def subscribe(self) -> queue.Queue[tuple[str, str] | None]:
        inbox: queue.Queue[tuple[str, str] | None] = queue.Queue()
        with self._lock:
            self._clients.append(inbox)
            if self.latest is not None:
                inbox.put(("state", json.dumps(self.latest)))
        return inbox

    def unsubscribe(self, inbox: queue.Queue) -> None:
        with self._lock:
            if inbox in self._clients:
                self._clients.remove(inbox)

    def publish(self, event: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, default=str)
        with self._lock:
            if event == "state":
                self.latest = data
            for inbox in self._clients:
                inbox.put((event, text))

    def close(self) -> None:
        with self._lock:
            for inbox in self._clients:
                inbox.put(None)


def collect_state(manifest_path: Path, options: Any, *, build_number: int, summary: Any, error: str | None,
                  previous_lock: Any, previous_state: dict[str, Any] | None) -> dict[str, Any]:
    """Everything the page shows, as JSON: images (with cache-busting URLs), scores, gates, diffs."""
    from pixelgen.commands.diff import diff_outputs
    from pixelgen.commands.status import compute_status
    from pixelgen.core.workspace import open_workspace

    state: dict[str, Any] = {"build": build_number, "error": error, "time": time.time()}
    if summary is not None:
        state["summary"] = {key: value for key, value in asdict(summary).items() if key not in ("stale", "notes")}
    try:
        ws = open_workspace(manifest_path, options)
    except PixelgenError as exc:
        # A broken manifest: keep showing the last good build under the error.
        kept = {k: v for k, v in (previous_state or {}).items() if k in ("manifest", "assets", "scores", "diffs")}
        return {**kept, **state, "status": "failed", "error": error or exc.message}
    states = {s.asset_id: s for s in compute_status(ws.plan, ws.lock, ws.out_dir)}
    quality = _read_json(ws.out_dir / "quality.json") or {}
    assets = []
    for asset_plan in ws.plan.assets:
        asset_id = asset_plan.asset.id
        images = []
        for post in asset_plan.posts:
            from pixelgen.core.overrides import expected_digest

            entry = ws.lock.outputs.get(post.output) if ws.lock else None
            if entry is not None and (ws.out_dir / post.output).is_file():
                images.append({"path": post.output, "url": f"/out/{post.output}?v={expected_digest(entry)[:16]}"})
        assets.append({
            "id": asset_id, "kind": asset_plan.asset.kind, "images": images,
            "up_to_date": states[asset_id].up_to_date, "reasons": states[asset_id].reasons,
            "metrics": (quality.get("assets", {}).get(asset_id) or {}).get("metrics", {}),
        })
    diffs = []
    if previous_lock is not None and ws.lock is not None:
        for change in diff_outputs(ws, previous_lock):
            item = asdict(change)
            item["url"] = f"/out/{change.image}?v={int(time.time() * 1000)}" if change.image else None
            diffs.append(item)
    violations = summary.gate_violations if summary is not None else []
    status = "failed" if error or (summary is not None and summary.failed) else "gates" if violations else "ok"
    return {**state, "status": status, "manifest": ws.manifest.name, "assets": assets, "gates": violations, "diffs": diffs}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _handler(out_dir: Callable[[], Path | None], events: Events, allow_origin: str | None) -> type[BaseHTTPRequestHandler]:
    page = resources.files("pixelgen").joinpath("templates/serve.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            log.debug("serve: " + format, *args)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = unquote(urlsplit(self.path).path)
            if path == "/":
                self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
            elif path == "/state":
                self._send(HTTPStatus.OK, json.dumps(events.latest or {}).encode(), "application/json")
            elif path == "/events":
                self._stream()
            elif path.startswith("/out/"):
                self._file(path.removeprefix("/out/"))
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def end_headers(self) -> None:
            # A game's dev server on another origin may follow the build (opt-in, one origin).
            if allow_origin:
                self.send_header("Access-Control-Allow-Origin", allow_origin)
            super().end_headers()

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _file(self, relative: str) -> None:
            from pixelgen.files.confine import confine

            root = out_dir()
            try:
                target = confine(root, relative) if root else None
            except PixelgenError:
                target = None
            if target is None or not target.is_file():
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
                return
            self._send(HTTPStatus.OK, target.read_bytes(), CONTENT_TYPES.get(target.suffix, "application/octet-stream"))

        def _stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            inbox = events.subscribe()
            try:
                while True:
                    try:
                        item = inbox.get(timeout=KEEPALIVE_SECONDS)
                    except queue.Empty:
                        self.wfile.write(b": keep-alive\n\n")  # finds closed pages
                        self.wfile.flush()
                        continue
                    if item is None:
                        return
                    event, data = item
                    self.wfile.write(f"event: {event}\ndata: {data}\n\n".encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                events.unsubscribe(inbox)
                self.close_connection = True

    return Handler


class LiveServer:
    """The HTTP server and the rebuild loop of ``pixelgen serve``."""

    def __init__(self, manifest_path: Path, options: Any, *, host: str = "127.0.0.1", port: int = 8000, interval: float = 0.2,
                 allow_origin: str | None = None) -> None:
        self.manifest_path = Path(manifest_path)
        self.options = options
        self.interval = interval
        self.events = Events()
        self.stop = threading.Event()
        self._out_dir: Path | None = None
        self.httpd = ThreadingHTTPServer((host, port), _handler(lambda: self._out_dir, self.events, allow_origin))
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def serve(self, *, echo: Callable[[str], None] = print, max_builds: int | None = None) -> None:
        thread = threading.Thread(target=self.httpd.serve_forever, name="pixelgen-serve", daemon=True)
        thread.start()
        echo(f"serving {self.manifest_path} on {self.url} (Ctrl-C to stop)")
        try:
            self._loop(echo, max_builds)
        finally:
            self.events.close()
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join(timeout=5)

    def _loop(self, echo: Callable[[str], None], max_builds: int | None) -> None:
        from pixelgen.commands.build import build
        from pixelgen.commands.watch import (
            reusable_generator_factory,
            snapshot,
            watched_files,
        )
        from pixelgen.records.lock import read_lock

        generators = reusable_generator_factory(self.options)
        builds = 0
        changed_at: float | None = None
        while not self.stop.is_set():
            files = watched_files(self.manifest_path)
            before = snapshot(files)
            builds += 1
            self.events.publish("building", {"build": builds})
            lock_path = self.manifest_path.with_name(f"{self.manifest_path.stem}.lock.json")
            previous_lock = read_lock(lock_path)
            summary, error = None, None
            try:
                summary = build(self.manifest_path, self.options, make_generator=generators)
                self._out_dir = Path(summary.out_dir)
            except PixelgenError as exc:
                error = exc.message
            state = collect_state(self.manifest_path, self.options, build_number=builds, summary=summary, error=error,
                                  previous_lock=previous_lock, previous_state=self.events.latest)
            if changed_at is not None:
                state["change_to_page_ms"] = round((time.perf_counter() - changed_at) * 1e3, 1)
            self.events.publish("state", state)
            line = f"build {builds}: {state['status']}"
            if summary is not None:
                line += f", {summary.built} built, {summary.cached} from cache, {summary.rendered} rendered"
            if error:
                line += f": {error}"
            if "change_to_page_ms" in state:
                line += f"; change → page {state['change_to_page_ms']:.0f} ms"
            echo(line)
            if max_builds is not None and builds >= max_builds:
                return
            while snapshot(files) == before:
                if self.stop.wait(self.interval):
                    return
            changed_at = time.perf_counter()

