#!/usr/bin/env bash
# Distributed testing with torchrun: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/dist_common.sh"
ltplug_dist_usage "tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]" 3 $#
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
ltplug_dist_count NUM_PROCS "$GPUS"
ltplug_dist_env tools/dist_test.sh
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
python -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" "$HERE/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
