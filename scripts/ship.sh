#!/usr/bin/env bash
# Make what ships: copy the checkpoints trained in $DIGITZOO_HOME into the package, then export
# them (verified) into hub/pretrained/exports, which the demo serves on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
store="${DIGITZOO_HOME:?set DIGITZOO_HOME to the store that holds your trained checkpoints}"
for m in $(.venv/bin/python -c "from digitzoo.hub.registry import list_models; print(*list_models())"); do
  mkdir -p "hub/pretrained/checkpoints/$m"
  cp "$store/checkpoints/$m/model.safetensors" "$store/checkpoints/$m/card.json" "hub/pretrained/checkpoints/$m/"
done
rm -rf hub/pretrained/exports
.venv/bin/digitzoo export all --out-dir hub/pretrained/exports "$@"
