#!/usr/bin/env bash
# Set up pixelgen in ./.venv on a fresh machine. Idempotent.
#   bash scripts/setup.sh          runtime + pytest
#   bash scripts/setup.sh --test   also the test oracles (PixiJS in Node, Chromium) where they can be installed
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
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
if [ "${PIXELGEN_TORCH:-cpu}" != "skip" ]; then
  "${pip[@]}" "torch==2.13.0"
fi
"${pip[@]}" -e '.[dev]'

if [ "${1:-}" = "--test" ]; then
  # C2PA signing is optional (a ~50 MB native wheel); its tests skip without it.
  "${pip[@]}" -e '.[dev,c2pa]' || echo "setup: c2pa-python could not be installed; the C2PA tests will be skipped" >&2
  if command -v npm >/dev/null 2>&1; then
    (cd tests/js && npm ci --silent --no-audit --no-fund) || echo "setup: npm ci failed; the PixiJS oracle tests will be skipped" >&2
  else
    echo "setup: npm not found; the PixiJS oracle tests will be skipped" >&2
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "setup: could not install chromium; the report browser test will be skipped" >&2
    else
      echo "setup: chromium not found (install Debian's chromium); the report browser test will be skipped" >&2
    fi
  fi
fi
