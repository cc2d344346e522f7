#!/usr/bin/env bash
# Distributed evaluation with torchrun: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
# e.g. tools/dist_test.sh configs/minigpt4/evaluation/minigpt4_vicuna-7b_gqa.py checkpoints/minigpt4_vicuna-7b.pth 8
# Each process answers a contiguous, image-grouped part of the test set; rank 0
# gathers the predictions and computes the metrics.
# Environment (NNODES, NODE_RANK, MASTER_ADDR, PORT, PYTHON): see tools/dist_run.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/dist_run.sh" "$3" tools/test.py "$1" "$2" "${@:4}"
