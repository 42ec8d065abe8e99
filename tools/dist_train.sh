#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG GPUS [train.py args...]
# (NNODES, NODE_RANK, MASTER_ADDR, PORT may be set for multi-node runs; on CPU-only machines the gloo backend is used.)
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/dist_common.sh"
ltplug_dist_usage "tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]" 2 $#
ltplug_dist_count NUM_PROCS "$2"
ltplug_dist_env tools/dist_train.sh
ltplug_torchrun "$2" train.py "$1" --launcher pytorch "${@:3}"
