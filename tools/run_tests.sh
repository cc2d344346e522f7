#!/usr/bin/env bash
# Set up the venvs (and Debian's chromium) and run the test suite twice (CPU only):
# all of it with the newest transformers (5.x) in .venv, then with transformers 4.5x
# in .venv-transformers4, since the plugin supports both. The second run leaves out
# the browser, server, quick-start and multi-process FSDP/DeepSpeed tests: they drive
# the same model code through web stacks and MMEngine strategies that do not depend
# on the transformers version.
set -e
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The web demo's tests drive Debian's Chromium (an offline machine cannot download a
# browser build for playwright).
if ! command -v chromium >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium
fi
source tools/setup_env.sh
python -m pytest tests -q "$@"
deactivate
VENV=.venv-transformers4 TRANSFORMERS_SPEC="transformers>=4.50,<5" source tools/setup_env.sh
python -c 'import transformers; print("transformers", transformers.__version__)'
python -m pytest tests -q --ignore=tests/test_serving --ignore=tests/test_tools/test_demo_browser.py \
    --ignore=tests/test_tools/test_quick_start.py --ignore=tests/test_tools/test_train_strategies.py "$@"
