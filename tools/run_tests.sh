#!/usr/bin/env bash
# Set up the venvs and run the whole test suite twice (CPU only, about 10 minutes on
# 2 cores): with the newest transformers (5.x) in .venv, then with transformers 4.5x
# in .venv-transformers4, since the plugin supports both.
set -e
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
python -m pytest tests -q "$@"
deactivate
VENV=.venv-transformers4 TRANSFORMERS_SPEC="transformers>=4.50,<5" source tools/setup_env.sh
python -c 'import transformers; print("transformers", transformers.__version__)'
python -m pytest tests -q "$@"
