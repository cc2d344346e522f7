#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
# e.g. tools/dist_train.sh configs/minigpt4/stage1_pretrain.py 4 --amp
# Environment (NNODES, NODE_RANK, MASTER_ADDR, PORT, PYTHON): see tools/dist_run.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/dist_run.sh" "$2" tools/train.py "$1" "${@:3}"
