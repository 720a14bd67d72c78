#!/usr/bin/env bash
# Reliability checks, CI-sized: each writes <check>.json into the folder given as $1
# (default test-artifacts/reliability) and the script fails if any check fails.
# One section per check; add new ones the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-test-artifacts/reliability}"
mkdir -p "$OUT"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
if [ -z "${DIGITZOO_DATA:-}" ] && [ -d ../shared/data/MNIST ]; then export DIGITZOO_DATA="$(cd ../shared/data && pwd)"; fi
failed=()
SECONDS=0

# -- kill/resume: 10 runs SIGKILLed at random moments (start-up, training, inside checkpoint
#    writes, the final save) resume from the last complete state with the uninterrupted weights.
echo "== kill_resume"
"$PY" scripts/reliability/kill_resume.py --trials 10 --out "$OUT/kill_resume.json" || failed+=(kill_resume)

# -- determinism: two CPU runs with the same seed give identical weights; another seed does not.
echo "== determinism"
"$PY" scripts/reliability/determinism.py --out "$OUT/determinism.json" || failed+=(determinism)

# -- serving: 32 clients for 20 s without a failed request; a burst of 200 past the queue limit
#    answered "busy" fast with the server still up; 2,000 requests after a warm-up grow the
#    server's memory by less than 50 MB. (The report's full sizes: 60 s and 10,000 requests.)
echo "== serving"
"$PY" -m digitzoo.cli bench serve-reliability --seconds 20 --clients 32 --memory-requests 2000 --burst 200 \
  --out "$OUT/serving.json" || failed+=(serving)

echo "reliability: ${SECONDS} s; results in $OUT"
if [ ${#failed[@]} -gt 0 ]; then
  echo "reliability: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "reliability: all checks passed"
