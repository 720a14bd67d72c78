#!/usr/bin/env bash
# Set up a virtual environment and start the demo hub on the shipped (pretrained, exported) models.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/digitzoo serve "$@"
