#!/usr/bin/env bash
# Run a command inside one of ltplug's environments (built on first use by tools/setup.sh, then cached).
# Usage: tools/with_env.sh [--stack full|cls|onedl] CMD ...     (default: full, or $LTPLUG_STACK)
#   tools/with_env.sh python tools/train.py configs/vmf/...py       # the full pinned stack (cls + seg + det)
#   tools/with_env.sh --stack cls bash tools/demo.sh                 # classification only, no compiler needed
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${LTPLUG_STACK:-full}"
case "${1:-}" in
  --stack) STACK="${2:?--stack needs a value: full, cls or onedl}"; shift 2 ;;
  --stack=*) STACK="${1#--stack=}"; shift ;;
esac
[[ $# -gt 0 ]] || { echo "usage: tools/with_env.sh [--stack full|cls|onedl] CMD ..." >&2; exit 2; }
VENV="$(bash "$HERE/tools/setup.sh" --stack "$STACK" | tail -n1)"
export PATH="$VENV/bin:$PATH"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export VIRTUAL_ENV="$VENV"
export LTPLUG_STACK="$STACK"
export MPLBACKEND="${MPLBACKEND:-Agg}"
cd "$HERE"
exec "$@"
