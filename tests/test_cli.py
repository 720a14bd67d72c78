"""The command line: clear one-line errors, JSON output, the module entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "digitzoo.hub", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_missing_data_is_one_clear_line(tmp_path):
    out = run("train", "mnist_cnn", "--dry-run", "--data-dir", str(tmp_path / "nowhere"),
              env={"DIGITZOO_OFFLINE": "1", "DIGITZOO_HOME": str(tmp_path)})
    assert out.returncode == 2
    assert out.stderr.count("\n") <= 2 and "Traceback" not in out.stderr  # the config line + the error
    assert "digitzoo: error: MNIST is not in" in out.stderr and "--data-dir or DIGITZOO_DATA" in out.stderr


def test_unknown_model_and_unknown_flag(tmp_path):
    out = run("eval", "mnist_vit")
    assert out.returncode == 2 and "unknown model 'mnist_vit'" in out.stderr and "Traceback" not in out.stderr
    out = run("train", "mnist_cnn", "--epochz", "3")
    assert out.returncode == 2 and "No such option" in out.stderr


def test_eval_json_recomputes_metrics(tmp_path):
    out = run("eval", "mnist_cnn", "--json", "--limit-test", "2000", "--sketch-eval", "0", "--threads", "2")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["metrics"]["test_images"] == 2000
    assert report["metrics"]["test_accuracy"] > 0.98


def test_module_entry_points_show_help(tmp_path):
    # The names the README documents, run outside the repository: only the installed package is importable.
    for module in ("digitzoo.train", "digitzoo.export", "digitzoo.apps", "digitzoo.hub"):
        out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120,
                             cwd=tmp_path)
        assert out.returncode == 0 and f"Usage: python -m {module}" in out.stdout, (module, out.stdout, out.stderr)


def test_serve_on_a_busy_port_says_which_flag_to_use():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run("serve", "--port", str(port), "--tab", "models")
    assert out.returncode == 2, out.stderr[-500:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "--port" in lines[0], out.stderr


def test_serve_help_lists_mcp():
    out = run("serve", "--help")
    assert out.returncode == 0 and "--mcp" in out.stdout and "MCP tools" in out.stdout, out.stdout


def test_serve_mcp_without_the_mcp_package_says_what_to_install():
    # As where `mcp` is not installed: importing it fails, and find_spec says it is absent.
    code = "import sys\nsys.modules['mcp'] = None\nfrom digitzoo.cli import main\nsys.exit(main(['serve', '--mcp', '--port', '1']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-500:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'digitzoo[mcp]'" in lines[0], out.stderr
