# Checks shared by tools/dist_train.sh, tools/dist_test.sh and tools/slurm_train.sh (sourced, not run).
# ltplug_dist_usage USAGE_LINE NEEDED_ARGS GIVEN_ARGS: print the usage and exit 2 when arguments are missing.
ltplug_dist_usage() {
  if [[ "$3" -lt "$2" ]]; then
    echo "usage: $1" >&2
    echo "       run it inside ltplug's environment: tools/with_env.sh bash $1" >&2
    exit 2
  fi
}
# ltplug_dist_count NAME VALUE: VALUE must be a positive integer (a process count).
ltplug_dist_count() {
  if ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: $1 must be a positive integer (processes per node), got '$2'" >&2
    exit 2
  fi
}
# ltplug_dist_env SCRIPT: the python on PATH must import torch and mmengine (the pinned environment).
ltplug_dist_env() {
  local py
  py="$(command -v python || true)"
  if [[ -z "$py" ]] || ! "$py" -c 'import torch, mmengine' >/dev/null 2>&1; then
    echo "error: ${py:-python} cannot import torch / mmengine: $1 must run inside ltplug's environment." >&2
    echo "       Run it as: tools/with_env.sh bash $1 ...   (tools/with_env.sh builds the environment on first use)" >&2
    exit 2
  fi
}
# ltplug_torchrun NUM_PROCS SCRIPT ARGS...: run tools/SCRIPT ARGS on NUM_PROCS processes per node with torchrun
# (NNODES, NODE_RANK, MASTER_ADDR, PORT may be set for multi-node runs; on CPU-only machines the gloo backend is used).
ltplug_torchrun() {
  local here nprocs=$1 script=$2
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  shift 2
  PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}" \
  python -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
      --master_addr="${MASTER_ADDR:-127.0.0.1}" --nproc_per_node="$nprocs" --master_port="${PORT:-29500}" \
      "$here/$script" "$@"
}
