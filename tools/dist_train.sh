#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG GPUS [train.py args...]
# (NNODES, NODE_RANK, MASTER_ADDR, PORT may be set for multi-node runs; on CPU-only machines the gloo backend is used.)
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/dist_common.sh"
ltplug_dist_usage "tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]" 2 $#
CONFIG=$1
GPUS=$2
ltplug_dist_count NUM_PROCS "$GPUS"
ltplug_dist_env tools/dist_train.sh
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}" \
python -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" "$HERE/train.py" "$CONFIG" --launcher pytorch "${@:3}"
