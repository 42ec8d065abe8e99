#!/usr/bin/env bash
# Idempotent set-up of an OpenMMLab stack for ltplug, cached outside the checkout.
#
# Usage: tools/setup.sh [--stack full|cls|onedl]      (or LTPLUG_STACK=...; default: full)
#   full  : the pinned official stack, what `make test` and the seg / det tools use: torch, mmengine, mmcv compiled
#           from source with its ops, mmpretrain, mmsegmentation, mmdet, lvis, the test tools (first build: ~15-35 min
#           on 2 cores, almost all of it compiling mmcv; the compiled wheel is cached, so later rebuilds take minutes).
#   cls   : classification only, no compiler: torch, mmengine, the pure-Python mmcv-lite, mmpretrain. `make demo`.
#   onedl : the maintained OneDL forks (onedl-mmengine, onedl-mmcv compiled from source, onedl-mmpretrain,
#           onedl-mmsegmentation, onedl-mmdetection) plus the test tools.
# Versions: ltplug/version.py (the single source) and requirements/lock.txt (the rest of the pinned environment).
#   cache root : ${LTPLUG_CACHE:-$HOME/.cache/ltplug}
#   venv       : <cache root>/venv-<stack>-...-<key>  (key = hash of the versions, the lock file and the patches below)
#   mmcv wheel : <cache root>/wheels/<mmcv dist>-<ver>-torch<ver>-<py>/  (keyed by torch version: a wheel built against
#                                                                        another torch fails at import, undefined symbols)
#   logs       : <cache root>/logs/<stack>-<time>.log (full pip and compiler output; a failure prints its last lines)
# Progress goes to stderr; the venv path is printed on the last line of stdout (`VENV=$(tools/setup.sh | tail -n1)`).
# The Debian package dataset-fashion-mnist is installed too when missing and running as root.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${LTPLUG_STACK:-full}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack) STACK="${2:?--stack needs a value: full, cls or onedl}"; shift 2 ;;
    --stack=*) STACK="${1#--stack=}"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "tools/setup.sh: unknown argument '$1' (usage: tools/setup.sh [--stack full|cls|onedl])" >&2; exit 2 ;;
  esac
done
case "$STACK" in full|cls|onedl) ;; *) echo "tools/setup.sh: unknown stack '$STACK' (full, cls or onedl)" >&2; exit 2 ;;
esac

PY="${LTPLUG_PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
VERSIONS=("$PY" "$HERE/ltplug/version.py")
PY_TAG="$("$PY" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')"
TORCH_VER="$("${VERSIONS[@]}" pin torch)"
TV_VER="$("${VERSIONS[@]}" pin torchvision)"
CACHE="${LTPLUG_CACHE:-$HOME/.cache/ltplug}"
LOCK_FILE="$HERE/requirements/lock.txt"
TESTS_REQ="$HERE/requirements/tests.txt"
BUILD_DIR=
case "$STACK" in
  full)  MMCV_DIST=mmcv; MMCV_VER="$("${VERSIONS[@]}" pin mmcv)"
         mapfile -t LIBS < <("${VERSIONS[@]}" requirements all); LIBS+=("mmcv==$MMCV_VER") ;;
  onedl) MMCV_DIST=onedl-mmcv; MMCV_VER="$("${VERSIONS[@]}" pin onedl-mmcv)"
         mapfile -t LIBS < <("${VERSIONS[@]}" onedl-pins); LIBS+=(lvis pycocotools ftfy regex scikit-learn) ;;
  cls)   MMCV_DIST=; MMCV_VER=
         mapfile -t LIBS < <("${VERSIONS[@]}" requirements cls); LIBS+=("mmcv-lite==$("${VERSIONS[@]}" pin mmcv-lite)") ;;
esac
# "mmengine>=0.10.7,<0.11 mmcv-lite==2.2.0 ..." -> "mmengine, mmcv-lite, ..." (for step titles)
names() { printf '%s\n' "$@" | sed -E 's/[<>=!~;].*//' | awk '!seen[$0]++' | paste -sd, - | sed 's/,/, /g'; }
# The venv key: everything that decides its content: the lock file, the packages and their exact pins (ranges only
# matter through the lock file, so widening a tested range does not rebuild), and the patches section (not the
# progress code).
KEY_SRC="$(cat "$LOCK_FILE" "$TESTS_REQ"; echo "$STACK $TORCH_VER $TV_VER $MMCV_DIST $MMCV_VER $PY_TAG"
           names "${LIBS[@]}"; printf '%s\n' "${LIBS[@]}" | grep '==' | sort
           sed -n '/^# --- patches ---$/,$p' "$0")"
KEY="$(printf '%s' "$KEY_SRC" | sha1sum | cut -c1-12)"
case "$STACK" in
  full)  VENV="$CACHE/venv-$PY_TAG-torch$TORCH_VER-mmcv$MMCV_VER-$KEY" ;;
  *)     VENV="$CACHE/venv-$STACK-$PY_TAG-torch$TORCH_VER${MMCV_VER:+-mmcv$MMCV_VER}-$KEY" ;;
esac
WHEELS="$CACHE/wheels/$MMCV_DIST-$MMCV_VER-torch$TORCH_VER-$PY_TAG"
STAMP="$VENV/.ltplug-ready"

T0=$(date +%s)
log() { echo "[ltplug setup $(date +%H:%M:%S)] $*" >&2; }
elapsed() { local s=$(( $(date +%s) - $1 )); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# run_step "title" CMD...: runs CMD (a command or a function of this script) with its output appended to $LOG, printing
# a heartbeat every 15 s (elapsed time, and compiled files / total while mmcv compiles, else pip's latest action);
# on failure prints the last lines of the log and its path, and stops.
STEP=0
run_step() {
  local title="$1"; shift
  STEP=$((STEP + 1))
  local t pid next
  t=$(date +%s); next=$((t + 15))
  log "($STEP/$NSTEPS) $title ..."
  echo "===== ($STEP/$NSTEPS) $title" >>"$LOG"
  "$@" >>"$LOG" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( $(date +%s) >= next )); then
      log "    ... $(elapsed "$t") $(progress_line)"
      next=$((next + 15))
    fi
  done
  if ! wait "$pid"; then
    log "FAILED: $title (after $(elapsed "$t")). Last lines of the log:"
    tail -n 30 "$LOG" | sed 's/^/    | /' >&2
    log "full log: $LOG"
    exit 1
  fi
  log "($STEP/$NSTEPS) done in $(elapsed "$t")"
}

# The latest progress the log shows: compiled files / total during a C++ build, else pip's latest action.
progress_line() {
  if [[ -n "${BUILD_DIR:-}" && -d "$BUILD_DIR" ]]; then
    local n_done total
    n_done=$(find "$BUILD_DIR" -name '*.o' 2>/dev/null | wc -l)
    total=$(ls "$BUILD_DIR"/mmcv/ops/csrc/pytorch/*.cpp "$BUILD_DIR"/mmcv/ops/csrc/pytorch/cpu/*.cpp 2>/dev/null | wc -l)
    echo "compiled $n_done / $total C++ files"
    return
  fi
  local action size
  action="$(grep -aoE '^(Collecting|Downloading|Processing|Building wheel for|Installing collected packages|Successfully)[^(]*' \
    "$LOG" 2>/dev/null | tail -n 1 | cut -c1-90 || true)"
  size="$(du -sh "$VENV" 2>/dev/null | cut -f1 || true)"
  echo "${size:+[venv $size] }$action"
}

ensure_fashion_mnist() {
  # Real image data for the demos and tests: the Debian package, when missing (needs root; nothing else downloads).
  # Tried once per cache: a failed apt-get (no network) is reported, not retried at every call.
  local d=/usr/share/datasets/fashion-mnist f tried="$CACHE/.fashion-mnist-apt-tried" t
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [[ -f "$d/$f" ]] && continue
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1 || [[ -f "$tried" ]]; then
      log "note: Fashion-MNIST is not under $d; install it with: sudo apt-get install dataset-fashion-mnist"
      return 0
    fi
    mkdir -p "$CACHE" && touch "$tried"
    log "installing the Debian package dataset-fashion-mnist (Fashion-MNIST, under $d): apt-get update + install ..."
    t=$(date +%s)
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; then
      log "dataset-fashion-mnist installed in $(elapsed "$t")"
    else
      log "warning: could not install dataset-fashion-mnist (apt-get failed after $(elapsed "$t")); the Fashion-MNIST" \
          "demos and tests need it: sudo apt-get install dataset-fashion-mnist"
    fi
    return 0
  done
}

main() {
  ensure_fashion_mnist
  if [[ -f "$STAMP" ]]; then
    log "environment ready ($STACK): $VENV"
    echo "$VENV"
    return 0
  fi
  mkdir -p "$CACHE/logs"
  exec 9>"$CACHE/.setup-$STACK.lock"
  if ! flock -n 9; then  # a concurrent set-up of the same stack (two checkouts, CI + a user): wait, do not corrupt it
    log "another set-up of the '$STACK' environment is running; waiting for it (lock $CACHE/.setup-$STACK.lock)"
    flock 9
  fi
  if [[ -f "$STAMP" ]]; then
    log "environment ready ($STACK): $VENV"
    echo "$VENV"
    return 0
  fi
  LOG="$CACHE/logs/$STACK-$(date +%Y%m%d-%H%M%S).log"
  local cached=no
  if [[ "$STACK" == cls ]]; then
    NSTEPS=3
    log "building the '$STACK' environment (no compiler needed; a few minutes): $VENV"
  elif ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    cached=yes; NSTEPS=5
    log "building the '$STACK' environment (compiled $MMCV_DIST wheel cached: a few minutes): $VENV"
  else
    NSTEPS=6
    log "building the '$STACK' environment; first run on this machine: compiles $MMCV_DIST $MMCV_VER from source," \
        "about 15 min on 2 idle cores, longer on a busy machine: $VENV"
  fi
  log "full log: $LOG"
  rm -rf "$VENV"
  PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
  run_step "virtual environment + pip" make_venv
  if [[ "$STACK" == cls ]]; then
    # One resolve: torch + the cls extra of ltplug/version.py (mmengine, mmcv-lite, mmpretrain, scikit-learn).
    # --no-compile: Python byte-compiles the modules it imports on first use; compiling all of torch's up front costs
    # about a minute of a fresh set-up.
    run_step "torch $TORCH_VER, torchvision $TV_VER, $(names "${LIBS[@]}")" \
      "${PIP[@]}" install --no-compile -c "$LOCK_FILE" "torch==$TORCH_VER" "torchvision==$TV_VER" "${LIBS[@]}"
  else
    # The CPU-only torch 2.13 wheel on these machines has no importable torchvision beside it, so the CUDA build of
    # 2.14.1 (which runs on the CPU) is used. setuptools: mmcv's setup.py imports pkg_resources (removed in
    # setuptools 81) while torch 2.14 needs >= 77.
    local engine
    engine="$(printf '%s\n' "${LIBS[@]}" | grep -E '^(onedl-)?mmengine' | head -n 1)"
    run_step "torch $TORCH_VER, torchvision $TV_VER, build tools, $(names "$engine")" \
      "${PIP[@]}" install --no-compile -c "$LOCK_FILE" "torch==$TORCH_VER" "torchvision==$TV_VER" "setuptools>=77,<81" wheel numpy \
      ninja psutil "$engine"
    if [[ "$cached" == yes ]]; then
      STEP=$((STEP + 1)); log "($STEP/$NSTEPS) $MMCV_DIST $MMCV_VER: compiled wheel cached in $WHEELS"
    else
      build_mmcv
    fi
    run_step "$MMCV_DIST $MMCV_VER (cached wheel), $(names "${LIBS[@]}"), test tools" install_libraries
  fi
  run_step "patches and import check" apply_patches_and_check
  touch "$STAMP"
  log "environment '$STACK' ready in $(elapsed "$T0"): $VENV"
  echo "$VENV"
}

make_venv() {
  "$PY" -m venv "$VENV"
  "${PIP[@]}" install --upgrade pip
}

install_libraries() {
  "${PIP[@]}" install --no-deps --no-cache-dir "$WHEELS"/*.whl
  "${PIP[@]}" install --no-compile -c "$LOCK_FILE" -r "$TESTS_REQ" "${LIBS[@]}"
}

# mmcv (or onedl-mmcv) with its compiled ops, from the source archive; the wheel goes to the torch-keyed cache.
build_mmcv() {
  SRC_TMP="$(mktemp -d)"
  trap 'rm -rf "$SRC_TMP"' EXIT
  run_step "download the $MMCV_DIST $MMCV_VER source" \
    "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation "$MMCV_DIST==$MMCV_VER" -d "$SRC_TMP"
  tar -xzf "$SRC_TMP"/*.tar.gz -C "$SRC_TMP"
  BUILD_DIR="$(find "$SRC_TMP" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  patch_mmcv_source "$BUILD_DIR"
  rm -rf "$WHEELS.tmp" && mkdir -p "$WHEELS.tmp"
  local jobs="${MAX_JOBS:-$(nproc)}"
  # --no-cache-dir: pip's wheel cache would otherwise hand back an mmcv built against another torch.
  run_step "compile $MMCV_DIST $MMCV_VER with its ops (MAX_JOBS=$jobs; the longest step)" \
    env MMCV_WITH_OPS=1 MAX_JOBS="$jobs" "${PIP[@]}" wheel -v --no-deps --no-build-isolation --no-cache-dir \
    -w "$WHEELS.tmp" "$BUILD_DIR"
  BUILD_DIR=
  rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
}

# --- patches ---
# Patch (mmcv 2.1.0 and onedl-mmcv 2.3.6): torch >= 2.14's ATen headers require C++20, but their setup.py hard-codes
# -std=c++17 for the C++ extension.
patch_mmcv_source() {
  sed -i 's/-std=c++17/-std=c++20/g' "$1/setup.py"
}

apply_patches_and_check() {
  local py="$VENV/bin/python"
  if [[ "$STACK" != cls ]]; then
    # Patch: the lvis package's evaluation uses np.float, removed in numpy 1.24; mmdet's LVISMetric fails at
    # evaluation time on numpy 2 without this. Replace the alias with the builtin it always meant.
    local lvis_eval
    lvis_eval="$("$py" -c 'import lvis.eval, sys; sys.stdout.write(lvis.eval.__file__)')"
    sed -i -E 's/\bnp\.float\b([^0-9_])/float\1/g' "$lvis_eval"
    "$py" -c 'import mmcv.ops, mmpretrain.models, mmseg.models, mmdet.models, mmdet.evaluation, lvis
from mmcv.ops import nms, roi_align
print("stack imports ok: mmcv", mmcv.__version__)'
  else
    "$py" -c 'import mmcv, mmpretrain.models, mmpretrain.datasets, mmpretrain.evaluation, sklearn
print("stack imports ok: mmcv", mmcv.__version__, "(no ops)")'
  fi
}

main
