#!/usr/bin/env bash
# The quick-start demo: set up ./.venv, train the tiny MiniGPT-4 (stage 2) on the
# shipped mini cc_sbu_align for 12 iterations on CPU (watch the loss), then caption
# two real photos with the trained checkpoint through mmpretrain's inference_model.
set -e
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
WORK_DIR=work_dirs/demo_stage2_tiny
python tools/train.py configs/minigpt4/stage2_tiny.py --work-dir "$WORK_DIR"
MINIGPT4_TINY_CKPT="$WORK_DIR/iter_12.pth" python - <<'PY'
from mmpretrain import inference_model  # the plugin is loaded by its autoload hook

images = ['tests/data/minigpt4_mini/cc_sbu_align/image/1.jpg',
          'tests/data/minigpt4_mini/cc_sbu_align/image/2.jpg']
for image, result in zip(images, inference_model('minigpt-4_tiny_caption', images)):
    print(f'{image}: {result["pred_caption"]!r}')
print('(a tiny random model trained for 12 steps: the captions are noise; '
      'see docs/ to use the real weights)')
PY
