#!/usr/bin/env bash
# The quick-start demo: set up ./.venv, train the tiny MiniGPT-4 (stage 2) on the 8
# photos of the shipped mini cc_sbu_align until it has learned them (300 iterations,
# about half a minute on 2 CPU cores; watch the loss fall), then caption each photo
# with the trained checkpoint through mmpretrain's inference pipeline and print the
# greedy caption beside the training caption. The loss curve is drawn into the
# work dir.
set -e
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXTRAS=tiny source tools/setup_env.sh
WORK_DIR=work_dirs/demo_stage2_tiny_overfit
rm -rf "$WORK_DIR"
python tools/train.py configs/minigpt4/stage2_tiny_overfit.py --work-dir "$WORK_DIR"
echo
echo "Greedy captions of the training photos by the trained tiny model:"
python tools/compare_training_captions.py "$WORK_DIR/iter_300.pth"
echo "Loss curve: $(ls "$WORK_DIR"/*/vis_data/loss_curve.png)"
echo "(A tiny random model that memorised 8 photos; docs/ shows how to use the real weights.)"
