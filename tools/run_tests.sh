#!/usr/bin/env bash
# Set up ./.venv and run the whole test suite (CPU only, about 10-15 minutes on 2 cores).
set -e
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
python -m pytest tests -q "$@"
