#!/usr/bin/env bash
# Run a command inside ltplug's pinned environment (built on first use by tools/setup.sh, then cached).
# Usage: tools/with_env.sh python tools/train.py configs/vmf/...py
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$(bash "$HERE/tools/setup.sh" | tail -n1)"
export PATH="$VENV/bin:$PATH"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export VIRTUAL_ENV="$VENV"
export MPLBACKEND="${MPLBACKEND:-Agg}"
cd "$HERE"
exec "$@"
