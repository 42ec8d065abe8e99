#!/usr/bin/env bash
# Distributed testing with torchrun: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# (NNODES, NODE_RANK, MASTER_ADDR, PORT may be set for multi-node runs; on CPU-only machines the gloo backend is used.)
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/dist_common.sh"
ltplug_dist_usage "tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]" 3 $#
ltplug_dist_count NUM_PROCS "$3"
ltplug_dist_env tools/dist_test.sh
ltplug_torchrun "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"
