#!/usr/bin/env bash
# Time the README's demo command as a new user meets it: a fresh clone of HEAD, no .venv, an
# empty pip cache (a new PIP_CACHE_DIR: yours is left alone), then `bash scripts/demo.sh` until
# the page answers. Prints the seconds; the clone and its log stay in the folder it names.
#   bash scripts/time-demo.sh [PORT [REVISION]]   (REVISION: a commit to time instead of HEAD)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-7871}"
work="$(mktemp -d)"
git clone -q . "$work/digitzoo"
git -C "$work/digitzoo" checkout -q "${2:-HEAD}"
export PIP_CACHE_DIR="$work/pip-cache"
cd "$work/digitzoo"
start=$(date +%s.%N)
bash scripts/demo.sh --port "$port" >"$work/demo.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT  # demo.sh execs the server: $pid is it
until curl -fs -o /dev/null "http://127.0.0.1:$port/"; do
  if ! kill -0 $pid 2>/dev/null; then echo "demo.sh exited early; see $work/demo.log" >&2; tail -5 "$work/demo.log" >&2; exit 1; fi
  if (( $(date +%s) - ${start%.*} > 900 )); then echo "no answer after 900 s; see $work/demo.log" >&2; exit 1; fi
  sleep 0.5
done
end=$(date +%s.%N)
torch=$(.venv/bin/python -c "import importlib.util as u; print('installed' if u.find_spec('torch') else 'not installed')")
echo "demo command: page answered after $(python3 -c "print(f'{$end - $start:.1f}')") s (fresh clone, empty pip cache; torch $torch; $(nproc) cores)"
echo "venv size: $(du -sh .venv | cut -f1); log: $work/demo.log"
