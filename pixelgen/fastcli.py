"""The ``pixelgen`` entry point: a build with nothing to do is answered before the command line machinery loads.

Importing click and the commands costs more than answering a no-op build from
its stamp (:mod:`pixelgen.core.noop`). So for ``pixelgen build MANIFEST`` with only
the options that decide a no-op (``--out``, ``--cache-dir``, ``--json``,
``--check``, ``--strip-metadata``, ``--gates``, ``--sbom-timestamp``, ``-q``),
this answers from the stamp when it matches and there is nothing to say but
the summary line. Anything else — another option, another command, a stamp that
does not match, a warning or gate to report — goes to :func:`pixelgen.cli.main`,
which treats it as always. The printed text and JSON are the same either way
(tests/unit/test_noop.py compares them).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://")  # as pixelgen.core.remote_store.is_url, without importing the store
_VALUED = {"--out", "--cache-dir", "--gates", "--sbom-timestamp"}
_FLAGS = {"--json", "--check", "--strip-metadata", "-q", "--quiet"}


def _parse(argv: list[str]) -> dict[str, Any] | None:
    """The options of a plain ``build MANIFEST …``; None for anything this does not answer."""
    if not argv or argv[0] != "build":
        return None
    found: dict[str, Any] = {}
    manifests = []
    rest = argv[1:]
    index = 0
    while index < len(rest):
        word = rest[index]
        name, equals, value = word.partition("=")
        if name in _VALUED:
            if not equals:
                index += 1
                if index >= len(rest):
                    return None
                value = rest[index]
            if name in found or not value:
                return None
            found[name] = value
        elif word in _FLAGS:
            found[word] = True
        elif word.startswith("-"):
            return None
        else:
            manifests.append(word)
        index += 1
    if len(manifests) != 1 or found.get("--gates", "error") not in ("error", "warn"):
        return None
    found["manifest"] = manifests[0]
    return found


def try_noop(argv: list[str]) -> int | None:
    """Answer a no-op build and return its exit code, or None to run the full command line."""
    options = _parse(argv)
    if options is None:
        return None
    from pixelgen.core.config import build_settings
    from pixelgen.core.noop import shortcut

    try:
        build_settings(Path(options["manifest"]), {})
    except Exception:  # noqa: BLE001 - a broken config file or variable: the full command line reports it, work or not
        return None
    cache = options.get("--cache-dir") or os.environ.get("PIXELGEN_CACHE")  # click reads the same variable
    if cache is not None and not cache:
        return None
    summary = shortcut(
        Path(options["manifest"]),
        out=Path(options["--out"]) if "--out" in options else None,
        cache_dir=(cache if _URL.match(cache) else Path(cache)) if cache else None,
        strip_metadata=bool(options.get("--strip-metadata")),
        sbom_timestamp=options.get("--sbom-timestamp"),
        gates=options.get("--gates", "error"),
    )
    if summary is None or any(summary.get(key) for key in ("warnings", "notes", "gate_violations", "seam_errors", "deploy_dir", "failed", "stale")):
        return None
    if options.get("--json"):
        print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    elif options.get("-q") or options.get("--quiet"):
        pass
    elif options.get("--check"):
        print(f"{summary['manifest']}: up to date")
    else:
        print(f"{summary['manifest']}: {summary['built']} built, {summary['cached']} from cache, {summary['up_to_date']} up to date, "
              f"{len(summary['removed'])} removed, {len(summary['failed'])} failed; {summary['rendered']} rendered "
              f"in {summary['seconds']:.2f} s → {summary['out_dir']}")
    return 0


def main() -> None:
    try:
        code = try_noop(sys.argv[1:])
    except Exception:  # noqa: BLE001 - never worse than the full command line, which reports errors properly
        code = None
    if code is not None:
        sys.exit(code)
    from pixelgen.cli import main as full_main

    full_main()
