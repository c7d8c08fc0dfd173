#!/usr/bin/env bash
# One-command reproduction of pixelgen's baseline (see repro/README.md).
#
#   bash repro/run.sh
#
# 1. prints the environment (Python, torch, diffusers, CUDA/driver, GPUs, git SHA, seeds);
# 2. builds a generated 10-image manifest end to end (tiny model on CPU, or the
#    SDXL model named by PIXELGEN_MODEL when a CUDA GPU is present), then builds
#    it again and checks that nothing re-renders (the content-addressed cache);
# 3. runs a short bench/throughput.py;
# 4. saves everything under bench/baselines/<UTC date>-<sha>/ and a summary in
#    bench/baselines/latest.json.
# Exits non-zero if any image fails, the cache check fails, or the bench fails.
#
# Environment: PYTHON (interpreter; default .venv/bin/python, else python3),
# PIXELGEN_MODEL (hub repo id or local path of an SDXL pipeline; used only with a GPU),
# PIXELGEN_MODEL_REVISION, PIXELGEN_MODEL_VARIANT (e.g. fp16), PIXELGEN_SEED (default 1234),
# BENCH_ARGS (extra/overriding arguments for bench/throughput.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Offline: weights must already be local; nothing is fetched during a reproduction.
export HF_HUB_OFFLINE=1
export PYTHONHASHSEED=0
# Deterministic cuBLAS workspaces; ignored on CPU.
export CUBLAS_WORKSPACE_CONFIG=":4096:8"

if [[ -n "${PYTHON:-}" ]]; then
  PY="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then
  PY="$ROOT/.venv/bin/python"
else
  PY="python3"
fi

SEED="${PIXELGEN_SEED:-1234}"
SHA="$(git rev-parse --short=8 HEAD 2>/dev/null || echo nocommit)"
DIRTY="$( [[ -n "$(git status --porcelain 2>/dev/null || true)" ]] && echo true || echo false)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
BASE_REL="bench/baselines/${STAMP}-${SHA}"
BASE="$ROOT/$BASE_REL"
mkdir -p "$BASE/smoke"

CACHE="$(mktemp -d "${TMPDIR:-/tmp}/pixelgen-repro.XXXXXX")"
trap 'rm -rf "$CACHE"' EXIT

exec > >(tee "$BASE/repro.log") 2>&1

section() { printf '\n== %s ==\n' "$1"; }

section "environment"
echo "date (UTC):  $STAMP"
echo "git:         $SHA (dirty: $DIRTY)"
echo "python:      $PY"
echo "seed:        $SEED"
"$PY" - "$SEED" "$BASE/env.json" <<'PYEOF'
import sys
from importlib import metadata
from pathlib import Path

import torch  # imported first so the fingerprint records the CUDA runtime

from pixelgen.records.envinfo import environment_fingerprint
from pixelgen.files.fsutil import write_json_atomic

seed, target = int(sys.argv[1]), Path(sys.argv[2])
print(f"Python:      {sys.version.split()[0]} ({sys.executable})")
for name in ("torch", "diffusers", "transformers", "numpy", "pixelgen"):
    try:
        print(f"{name + ':':<13}{metadata.version(name)}")
    except metadata.PackageNotFoundError:
        print(f"{name + ':':<13}not installed")
print(f"CUDA build:  {torch.version.cuda or 'none (CPU build)'}; available: {torch.cuda.is_available()}")
for index in range(torch.cuda.device_count()):
    print(f"GPU {index}:       {torch.cuda.get_device_name(index)}")
print(f"CPU threads: {torch.get_num_threads()}")
fingerprint = environment_fingerprint(project_dir=Path.cwd(), seeds=[seed])
write_json_atomic(target, fingerprint)
gpu = fingerprint["gpu"]
print(f"NVML:        {'driver ' + gpu['driver_version'] if gpu else fingerprint['gpu_unavailable_reason']}")
PYEOF
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -L || true
  nvidia-smi --query-gpu=index,name,uuid,driver_version,memory.total,power.limit,clocks.max.sm,clocks.sm --format=csv || true
  nvidia-smi -q >"$BASE/nvidia-smi.txt" 2>&1 || true
else
  echo "nvidia-smi: not found (no NVIDIA driver)"
fi
uname -a
lscpu 2>/dev/null | grep -E '^(Architecture|Model name|CPU\(s\)|Thread)' || true
free -h 2>/dev/null | head -2 || true

HAS_GPU="$("$PY" -c 'import torch; print(1 if torch.cuda.is_available() else 0)')"
MODEL="${PIXELGEN_MODEL:-}"
if [[ -n "$MODEL" && "$HAS_GPU" == 1 ]]; then
  MODE="sdxl"
  if [[ -e "$MODEL" ]]; then
    MODEL_YAML="path: \"$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")\""
  else
    MODEL_YAML="repo: \"$MODEL\""
  fi
  [[ -n "${PIXELGEN_MODEL_REVISION:-}" ]] && MODEL_YAML="$MODEL_YAML, revision: \"$PIXELGEN_MODEL_REVISION\""
  [[ -n "${PIXELGEN_MODEL_VARIANT:-}" ]] && MODEL_YAML="$MODEL_YAML, variant: \"$PIXELGEN_MODEL_VARIANT\""
  RENDER="{width: 1024, height: 1024, steps: 30, guidance: 7.0, scheduler: euler}"
  BATCH_SIZE=4
  BENCH_MODEL=(--model "$MODEL" --size 1024 --steps 30 --batch "1,8" --warmup 1 --repeats 3 --runs 3)
  [[ -n "${PIXELGEN_MODEL_REVISION:-}" ]] && BENCH_MODEL+=(--revision "$PIXELGEN_MODEL_REVISION")
  [[ -n "${PIXELGEN_MODEL_VARIANT:-}" ]] && BENCH_MODEL+=(--variant "$PIXELGEN_MODEL_VARIANT")
else
  MODE="tiny"
  if [[ -n "$MODEL" ]]; then
    echo "note: PIXELGEN_MODEL=$MODEL ignored: no CUDA GPU here; using the built-in tiny model on CPU"
  fi
  MODEL_YAML="builtin: tiny-sdxl"
  RENDER="{width: 128, height: 128, steps: 4, guidance: 5.0, scheduler: euler}"
  BATCH_SIZE=2
  # One torch thread: on a small shared CPU, two spinning OpenMP threads lose whole
  # time slices to any other process, which swamps the figures.
  BENCH_MODEL=(--model builtin:tiny-sdxl --size 128 --steps 4 --batch "1,2,4" --warmup 3 --repeats 5 --runs 3 --threads 1)
fi
echo "mode:        $MODE"

section "smoke build (10 images)"
MANIFEST="$BASE/smoke/smoke.yaml"
cat >"$MANIFEST" <<EOF
# Generated by repro/run.sh: 10 images (6 sprite variants + 4 seamless tiles).
version: 1
name: smoke
models:
  main: {$MODEL_YAML}
palettes:
  pico: {builtin: pico-8}
defaults:
  model: main
  prompt_prefix: "pixel art, "
  prompt_suffix: ", game asset"
  negative: "blurry, photo, 3d render"
  size: [32, 32]
  render: $RENDER
  palette: pico
  seed: $SEED
assets:
  - id: hero
    kind: sprite
    prompt: "a knight hero with a sword, side view"
    background: transparent
    variants: [$SEED, $((SEED + 1)), $((SEED + 2)), $((SEED + 3)), $((SEED + 4)), $((SEED + 5))]
  - id: ground
    kind: tileset
    prompt: "top-down {name} ground texture, seamless"
    size: [16, 16]
    seamless: true
    background: keep
    tiles: [{name: grass}, {name: dirt}, {name: sand}, {name: stone}]
EOF

BUILD_ARGS=(--out "$BASE/smoke/out" --cache-dir "$CACHE" --batch-size "$BATCH_SIZE" --json)
BUILD_HELP="$("$PY" -m pixelgen build --help)"
if [[ "$BUILD_HELP" == *--metrics-file* ]]; then
  BUILD_ARGS+=(--metrics-file "$BASE/smoke/build.prom")
fi

build_rc=0
"$PY" -m pixelgen build "$MANIFEST" "${BUILD_ARGS[@]}" >"$BASE/smoke/build.json" || build_rc=$?
cat "$BASE/smoke/build.json"
rebuild_rc=0
"$PY" -m pixelgen build "$MANIFEST" "${BUILD_ARGS[@]}" >"$BASE/smoke/rebuild.json" || rebuild_rc=$?

smoke_rc=0
"$PY" - "$BASE/smoke" "$build_rc" "$rebuild_rc" <<'PYEOF' || smoke_rc=$?
import json
import sys
from pathlib import Path

smoke, build_rc, rebuild_rc = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
expected = 10
problems = []
try:
    build = json.loads((smoke / "build.json").read_text())
    rebuild = json.loads((smoke / "rebuild.json").read_text())
except ValueError as error:
    sys.exit(f"smoke: no JSON summary from pixelgen build ({error}); see the log above")
if build_rc:
    problems.append(f"pixelgen build exited {build_rc}")
if build["failed"]:
    problems.append(f"{len(build['failed'])} image(s) failed: {build['failed']}")
# The generated images are the lock's outputs; packed files (sheets, tile previews) come beside them.
locks = sorted(smoke.rglob("smoke.lock.json"))
outputs = json.loads(locks[0].read_text())["outputs"] if locks else {}
pngs = [path for path in outputs if (smoke / "out" / "smoke" / path).is_file()]
if len(pngs) != expected:
    problems.append(f"{len(pngs)} images written and locked, expected {expected}")
if build["built"] + build["cached"] + build["up_to_date"] != expected:
    problems.append(f"summary accounts for {build['built'] + build['cached'] + build['up_to_date']} images, expected {expected}")
if rebuild_rc or rebuild["rendered"] or rebuild["built"] or rebuild["up_to_date"] != expected:
    problems.append(f"second build was not a no-op: {rebuild}")
print(f"smoke: {len(pngs)} images, {build['rendered']} rendered in {build['seconds']:.2f} s "
      f"({build['images_per_second'] or 0:.2f} img/s render), rebuild {rebuild['seconds']:.2f} s with "
      f"{rebuild['up_to_date']} up to date")
for problem in problems:
    print(f"smoke FAILED: {problem}")
sys.exit(1 if problems else 0)
PYEOF

section "throughput bench"
bench_rc=0
# BENCH_ARGS is split on whitespace on purpose: it is a list of options.
# shellcheck disable=SC2086
"$PY" bench/throughput.py "${BENCH_MODEL[@]}" --seed "$SEED" --cache-dir "$CACHE" --out "$BASE/bench" ${BENCH_ARGS:-} || bench_rc=$?

section "summary"
"$PY" - "$BASE" "$BASE_REL" "$ROOT/bench/baselines/latest.json" "$MODE" "$SHA" "$DIRTY" "$STAMP" "$SEED" \
  "$smoke_rc" "$bench_rc" <<'PYEOF'
import json
import sys
from pathlib import Path

from pixelgen.files.fsutil import write_json_atomic

base, base_rel, latest, mode, sha, dirty, stamp, seed, smoke_rc, bench_rc = sys.argv[1:]
base = Path(base)
build = json.loads((base / "smoke" / "build.json").read_text()) if (base / "smoke" / "build.json").stat().st_size else None
metrics_path = base / "bench" / "metrics.json"
metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
summary = {
    "baseline": base_rel,
    "date_utc": stamp,
    "git": {"sha": sha, "dirty": dirty == "true"},
    "mode": mode,
    "seed": int(seed),
    "smoke": {
        "ok": smoke_rc == "0",
        "images": 10,
        "failed": None if build is None else build["failed"],
        "seconds": None if build is None else build["seconds"],
        "render_images_per_second": None if build is None else build["images_per_second"],
    },
    "bench": {
        "ok": bench_rc == "0",
        "metrics": f"{base_rel}/bench/metrics.json" if metrics else None,
        "config": None if metrics is None else {k: metrics["config"][k] for k in ("model", "size", "steps", "batches", "device", "dtype")},
        "headline": None if metrics is None else metrics["headline"],
        "energy_unavailable_reason": None if metrics is None else metrics["energy_unavailable_reason"],
    },
}
write_json_atomic(base / "summary.json", summary)
write_json_atomic(Path(latest), summary)
print(json.dumps(summary, indent=2))
PYEOF

if [[ "$smoke_rc" != 0 || "$bench_rc" != 0 ]]; then
  echo "repro: FAILED (smoke exit $smoke_rc, bench exit $bench_rc); artifacts in $BASE_REL"
  exit 1
fi
echo "repro: OK; artifacts in $BASE_REL, summary in bench/baselines/latest.json"
