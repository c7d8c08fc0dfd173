#!/usr/bin/env bash
# Set up pixelgen in ./.venv on a fresh machine. Idempotent.
#   bash scripts/setup.sh          the runtime: what `pixelgen build` needs
#   bash scripts/setup.sh --test   also the test tools and oracles: pytest and the Python parsers,
#                                  PixiJS in Node, and (as root, with apt-get) Debian's chromium and tiled
#
# torch: the CPU wheel (2.13.0) is installed first so that pip never pulls a
# multi-GB CUDA build as a dependency. On a GPU machine install the CUDA torch
# for your platform into .venv first and run with PIXELGEN_TORCH=skip.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip's own progress bars: the first set-up downloads a few hundred MB.
pip=(.venv/bin/python -m pip install --disable-pip-version-check --progress-bar on)
if [ "${PIXELGEN_TORCH:-cpu}" != "skip" ]; then
  echo "setup: torch 2.13.0 (CPU build)" >&2
  "${pip[@]}" "torch==2.13.0"
fi

if [ "${1:-}" != "--test" ]; then
  echo "setup: pixelgen and its runtime dependencies" >&2
  "${pip[@]}" -e .
  exit 0
fi

echo "setup: pixelgen with the test tools (.[dev])" >&2
"${pip[@]}" -e '.[dev]'
# Ray is optional (a large native wheel); the render-farm tests skip without it.
"${pip[@]}" -e '.[dev,ray]' || echo "setup: ray could not be installed; the Ray executor tests will be skipped" >&2
# C2PA signing is optional (a ~50 MB native wheel); its tests skip without it.
"${pip[@]}" -e '.[dev,c2pa]' || echo "setup: c2pa-python could not be installed; the C2PA tests will be skipped" >&2
if command -v npm >/dev/null 2>&1; then
  (cd tests/js && npm ci --silent --no-audit --no-fund) || echo "setup: npm ci failed; the PixiJS oracle tests will be skipped" >&2
else
  echo "setup: npm not found; the PixiJS oracle tests will be skipped" >&2
fi

# System packages used as test oracles: a browser for the report, Tiled for the tilesets.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v tiled >/dev/null 2>&1 || missing+=(tiled)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages with apt-get: ${missing[*]} (test oracles; tests that need them skip without them)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || echo "setup: could not install ${missing[*]}; the tests that need them will be skipped" >&2
  else
    echo "setup: not installed: ${missing[*]} (install Debian's packages of those names); the tests that need them will be skipped" >&2
  fi
fi
