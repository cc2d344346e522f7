#!/usr/bin/env bash
# Distributed evaluation with torchrun: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
# e.g. tools/dist_test.sh configs/minigpt4/benchmarks/minigpt4_vicuna-7b_gqa.py checkpoints/minigpt4_vicuna-7b.pth 8
# Each process answers a contiguous, image-grouped part of the test set; rank 0
# gathers the predictions and computes the metrics. Multi-node: set NNODES,
# NODE_RANK, MASTER_ADDR (and PORT) on every node. Without a GPU the processes
# run on CPU with gloo. PYTHON picks the interpreter.
set -e
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHONPATH="$(pwd):${PYTHONPATH}" exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    tools/test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
