#!/usr/bin/env bash
# Start SCRIPT (a tools/*.py taking --launcher) in NUM_PROCESSES processes with torchrun:
# tools/dist_run.sh NUM_PROCESSES SCRIPT [script arguments]. Used by dist_train.sh and
# dist_test.sh. Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node.
# Without a GPU the processes run on CPU with gloo. PYTHON picks the interpreter.
set -e
NPROC=$1
SCRIPT=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHONPATH="$(pwd):${PYTHONPATH}" exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$SCRIPT" --launcher pytorch "${@:3}"
