#!/usr/bin/env bash
# Create a venv (if missing) and install this plugin with its test dependencies.
# Usage: source tools/setup_env.sh   (leaves the venv activated)
#   VENV=DIR               the venv (default .venv)
#   TRANSFORMERS_SPEC=...  e.g. "transformers>=4.50,<5" (default: the newest transformers)
#   EXTRAS=...             setup.py extras (default tests; the quick start takes tiny)
set -e
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
# Any torch >= 2.6 works. The cap makes pip take a torch 2.13 wheel already on the
# machine (our CI machines ship a CPU build) instead of downloading a newer CUDA one.
python -m pip install -q "torch>=2.6,<2.14" ${TRANSFORMERS_SPEC:+"$TRANSFORMERS_SPEC"} -e ".[${EXTRAS:-tests}]"
# Editable installs do not place the autoload hook in site-packages: copy it, so
# `from mmpretrain import inference_model` works without `import mmpretrain_minigpt4`.
cp mmpretrain_minigpt4_autoload.pth "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
