#!/usr/bin/env bash
# Set up a virtual environment and start the demo hub on the shipped (pretrained, exported) models.
# Installs the serving set only (no torch); arguments pass through to `digitzoo serve`.
# DIGITZOO_EXTRAS=playground adds the Playground (CPU-trained lessons: torch, gymnasium, scikit-learn).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${DIGITZOO_EXTRAS:+[$DIGITZOO_EXTRAS]}"
if [ -n "$extras" ]; then
  echo "digitzoo: installing the demo with $extras into .venv (with torch: several GB, a few minutes)..." >&2
else
  echo "digitzoo: installing the demo into .venv (Gradio, ONNX Runtime, huggingface_hub; about 700 MB, no torch; ~25 s)..." >&2
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".$extras"
echo "digitzoo: starting the hub (digitzoo serve $*)" >&2
exec .venv/bin/digitzoo serve "$@"
