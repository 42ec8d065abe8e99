#!/usr/bin/env bash
# Idempotent set-up of the pinned OpenMMLab stack for ltplug.
#
# Creates (once) a virtual environment OUTSIDE the checkout, keyed by the pinned versions, so a fresh clone on the same
# machine is ready in seconds and a new machine builds everything from this script alone.
#   cache root : ${LTPLUG_CACHE:-$HOME/.cache/ltplug}
#   venv       : <cache root>/venv-<key>          (key = python + pins + hash of this script's pin list)
#   mmcv wheel : <cache root>/wheels/mmcv-2.1.0-torch<ver>-<py>/   (keyed by torch version: a wheel built against another
#                                                                   torch fails at import with undefined symbols)
# Prints the venv path on its last line (so callers can do `VENV=$(tools/setup.sh | tail -n1)`).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${LTPLUG_PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

TORCH_VER=2.14.1
TV_VER=0.29.1
MMCV_VER=2.1.0
PY_TAG="$("$PY" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"
CACHE="${LTPLUG_CACHE:-$HOME/.cache/ltplug}"
LOCK_FILE="$HERE/requirements/lock.txt"
KEY_SRC="$(cat "$LOCK_FILE"; echo "$TORCH_VER $TV_VER $MMCV_VER $PY_TAG"; sed -n '/^# --- patches ---$/,$p' "$0")"
KEY="$(printf '%s' "$KEY_SRC" | sha1sum | cut -c1-12)"
VENV="$CACHE/venv-$PY_TAG-torch$TORCH_VER-mmcv$MMCV_VER-$KEY"
WHEELS="$CACHE/wheels/mmcv-$MMCV_VER-torch$TORCH_VER-$PY_TAG"
STAMP="$VENV/.ltplug-ready"

mkdir -p "$CACHE"
exec 9>"$CACHE/.setup.lock"
flock 9   # concurrent set-ups (two checkouts, CI + a user) wait for each other instead of corrupting the venv

log() { echo "[ltplug setup] $*" >&2; }

if [[ -f "$STAMP" ]]; then
  log "environment ready: $VENV"
  echo "$VENV"
  exit 0
fi

log "building environment $VENV (first run on this machine: about 15 minutes, most of it compiling mmcv)"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip

# 1. torch + build tools. The CPU-only torch 2.13 wheel on these machines has no importable torchvision beside it,
#    so the CUDA build of 2.14.1 (which runs on the CPU) is used. setuptools: mmcv's setup.py imports pkg_resources
#    (removed in setuptools 81) while torch 2.14 needs >= 77.
"${PIP[@]}" install -q -c "$LOCK_FILE" "torch==$TORCH_VER" "torchvision==$TV_VER" "setuptools>=77,<81" wheel numpy ninja psutil mmengine

# 2. mmcv with its compiled ops (mmdet needs nms / RoIAlign; mmseg's model package imports mmcv.ops), built from source.
if ! ls "$WHEELS"/mmcv-"$MMCV_VER"-*.whl >/dev/null 2>&1; then
  SRC="$(mktemp -d)"
  trap 'rm -rf "$SRC"' EXIT
  "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VER" -d "$SRC"
  tar -xzf "$SRC"/mmcv-"$MMCV_VER".tar.gz -C "$SRC"
  # Patch: torch >= 2.14's ATen headers require C++20, but mmcv 2.1.0's setup.py hard-codes -std=c++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$SRC/mmcv-$MMCV_VER/setup.py"
  mkdir -p "$WHEELS.tmp"
  # --no-cache-dir: pip's wheel cache would otherwise hand back an mmcv built against another torch.
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${PIP[@]}" wheel -q --no-deps --no-build-isolation --no-cache-dir \
    -w "$WHEELS.tmp" "$SRC/mmcv-$MMCV_VER"
  rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
fi
"${PIP[@]}" install -q --no-deps --no-cache-dir "$WHEELS"/mmcv-"$MMCV_VER"-*.whl

# 3. The downstream libraries and the tools the tests use, at the versions in requirements/lock.txt.
"${PIP[@]}" install -q -c "$LOCK_FILE" -r "$HERE/requirements/runtime.txt" -r "$HERE/requirements/tests.txt" \
  "mmcv==$MMCV_VER"

# --- patches ---
# Patch: the lvis package's evaluation uses np.float, removed in numpy 1.24; mmdet's LVISMetric fails at evaluation
# time on numpy 2 without this. Replace the alias with the builtin it always meant.
LVIS_EVAL="$("$VENV/bin/python" -c 'import lvis.eval, sys; sys.stdout.write(lvis.eval.__file__)')"
sed -i -E 's/\bnp\.float\b([^0-9_])/float\1/g' "$LVIS_EVAL"

"$VENV/bin/python" - <<'PY'
import mmcv.ops, mmpretrain.models, mmseg.models, mmdet.models, mmdet.evaluation, lvis  # noqa: F401
from mmcv.ops import nms, roi_align  # noqa: F401
print('[ltplug setup] stack imports ok: mmcv', mmcv.__version__)
PY
touch "$STAMP"
log "environment ready: $VENV"
echo "$VENV"
