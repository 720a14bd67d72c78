"""`digitzoo bench serve`: end-to-end /classify latency over HTTP next to model-only latency.

Starts a real `digitzoo serve` in a subprocess (its start-up time is measured too), sends an
800x800 sketch through gradio_client from 1 and 8 concurrent clients, and times the same
preprocessing + both models in-process. Figures are medians/p99 of many requests.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _sketch_png(folder: Path) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (800, 800), "white")
    ImageDraw.Draw(img).line([(240, 200), (560, 200), (360, 640)], fill="black", width=36, joint="curve")
    path = folder / "sketch.png"
    img.save(path)
    return path


def _start_server(port: int) -> tuple[subprocess.Popen, float]:
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "apps", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return proc, time.perf_counter() - began
        except OSError:
            if proc.poll() is not None or time.perf_counter() - began > 120:
                raise RuntimeError("digitzoo serve did not start")
            time.sleep(0.05)


def _clients(url: str, payload_path: Path, clients: int, requests: int) -> tuple[list[float], int]:
    from gradio_client import Client, handle_file

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def worker():
        nonlocal errors
        client = Client(url, verbose=False)
        payload = {"background": None, "layers": [], "composite": handle_file(str(payload_path))}
        client.predict(payload, api_name="/classify")  # warm-up
        for _ in range(requests):
            began = time.perf_counter()
            try:
                client.predict(payload, api_name="/classify")
                ms = (time.perf_counter() - began) * 1000
                with lock:
                    latencies.append(ms)
            except Exception:  # noqa: BLE001 - counted, not raised: the figure is the error count
                with lock:
                    errors += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors


def model_only(payload_path: Path, repeats: int = 200) -> dict[str, float]:
    """Preprocessing + CNN + LSTM in-process, the floor under the HTTP figure."""
    from PIL import Image

    from hub.runtime import load_part
    from hub.sketch import preprocess

    image = np.asarray(Image.open(payload_path).convert("RGB"))
    cnn, lstm = load_part("mnist_cnn", threads=1), load_part("mnist_lstm", threads=1)
    pre, models = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        x = preprocess(image)[None, None]
        mid = time.perf_counter()
        cnn(x)
        lstm(x)
        pre.append((mid - began) * 1000)
        models.append((time.perf_counter() - mid) * 1000)
    return {"preprocess_ms_p50": statistics.median(pre), "models_ms_p50": statistics.median(models)}


def serve_latency(requests: int = 100) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        payload = _sketch_png(Path(tmp))
        proc, ready_s = _start_server(port)
        try:
            url = f"http://127.0.0.1:{port}/"
            rows = {}
            for clients in (1, 8):
                lat, errors = _clients(url, payload, clients, max(10, requests // clients))
                rows[clients] = {"p50_ms": _percentile(lat, 50), "p99_ms": _percentile(lat, 99),
                                 "requests": len(lat), "errors": errors}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        local = model_only(payload)
    return {"ready_s": ready_s, "classify": rows, "model_only": local,
            "ratio_http_p50_to_model_only": rows[1]["p50_ms"] / (local["preprocess_ms_p50"] + local["models_ms_p50"]),
            "machine": {"cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0]}}
