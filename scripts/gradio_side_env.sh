#!/usr/bin/env bash
# Make a side environment with another Gradio release, without reinstalling torch & co.
#
#   bash scripts/gradio_side_env.sh VERSION TARGET_DIR
#   bash scripts/gradio_side_env.sh 6.10.0 .venv-gradio-6.10.0
#
# TARGET_DIR gets a fresh venv on the repository .venv's base interpreter. A .pth file in it adds
# the repository .venv's site-packages *after* its own, so `pip install gradio==VERSION` puts that
# Gradio (and the gradio-client it pins) in front, while torch, digitzoo (editable) and the rest
# come from .venv. Idempotent: an existing TARGET_DIR that already has that Gradio is left as is.
# pip may report dependency conflicts with packages in .venv; those are printed, not fatal.
set -euo pipefail

die() { echo "gradio_side_env: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 VERSION TARGET_DIR   (e.g. $0 6.10.0 .venv-gradio-6.10.0)"
version=$1
target=$2
[[ $version =~ ^[0-9]+(\.[0-9]+)*([a-z0-9.]*)$ ]] || die "not a version: $version"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
main_py=$repo/.venv/bin/python
[ -x "$main_py" ] || die "no repository venv at $repo/.venv (make it first)"
target=$(realpath -m -- "$target")  # relative to the current directory
[ "$target" != "$(realpath -m -- "$repo/.venv")" ] || die "refusing to use the repository .venv itself as the target"
[ ! -e "$target" ] || [ -x "$target/bin/python" ] || die "$target exists and is not a venv"

base=$("$main_py" -c 'import sys; print(sys.base_prefix)') || die "cannot run $main_py"
pyver=$("$main_py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
main_site=$("$main_py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
base_py=$base/bin/python$pyver
[ -x "$base_py" ] || die "base interpreter $base_py not found"

# The installed Gradio's version from its metadata (fast: no `import gradio`).
have() { "$target/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("gradio") != sys.argv[1])' "$version" 2>/dev/null; }

if [ ! -x "$target/bin/python" ]; then
    "$base_py" -m venv "$target" || die "python -m venv $target failed"
fi
side_site=$("$target/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# An `import` line, so that site also runs .venv's own .pth files (digitzoo's editable finder).
echo "import site; site.addsitedir('$main_site')" > "$side_site/zz-digitzoo-main-venv.pth"

if ! have; then
    # pip's resolver exits 0 when it only warns about conflicts with .venv's packages; a real
    # failure (no such version, no network) exits non-zero.
    "$target/bin/python" -m pip install -q --disable-pip-version-check "gradio==$version" \
        || die "pip install gradio==$version into $target failed"
fi

# One real import of each, from the side venv: the Gradio asked for, its client, and the project.
"$target/bin/python" - "$version" <<'PY' || die "$target does not import gradio $version and digitzoo (see above)"
import sys
import gradio, gradio_client, digitzoo  # noqa: F401
if gradio.__version__ != sys.argv[1]:
    sys.exit(f"imports gradio {gradio.__version__} from {gradio.__file__}, not {sys.argv[1]}")
print(f"{sys.prefix}: gradio {gradio.__version__}, gradio_client {gradio_client.__version__}")
PY
