"""A lesson's trained net as an ONNX file, checked against eager PyTorch before it is handed out.

Only lessons marked ``exportable`` (regression, classification, RNN regression) offer it. The
file is opened through ``digitzoo.hub.serving.runtime`` (the one place that runs exported files) and its
outputs compared with the eager module on the lesson's own example input before the file takes
its final name.

Several visitors' runs can end at once, each in its own server thread: torch's exporter keeps
process-wide state (``GLOBALS.in_onnx_export``), so exports take turns; the check after it runs
in parallel.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np

from digitzoo.hub.serving.errors import DigitzooError
from digitzoo.hub.lessons.lesson import Lesson
from digitzoo.hub.serving.runtime import open_file

ATOL = 1e-4
# One torch.onnx.export at a time in this process: two at once fail with "GLOBALS.in_onnx_export
# must be False", and warnings.catch_warnings below is process-wide too.
_EXPORTER = threading.Lock()


def export_onnx(lesson: Lesson, folder: str | os.PathLike) -> Path:
    """Write ``folder/<lesson>.onnx`` (batch dimension dynamic) and return its path."""
    import torch

    if not lesson.exportable:
        raise DigitzooError(f"the {lesson.name} lesson has no net worth downloading on its own")
    module, example = lesson.onnx_module()
    module = module.eval()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final, tmp = folder / f"{lesson.name}.onnx", folder / f".{lesson.name}.tmp.onnx"
    # The TorchScript-based exporter: a tiny net exports in ~0.1 s (dynamo takes seconds), and a
    # visitor is waiting for the download. It prints nothing; its deprecation and tracer warnings
    # say nothing a visitor can act on.
    with _EXPORTER, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), str(tmp), dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=18)
    try:
        run, _ = open_file(tmp, "onnx", device="cpu", threads=1)
        with torch.no_grad():
            want = module(example).numpy()
        got = run(example.numpy())[0]
        if got.shape != want.shape or not np.allclose(got, want, atol=ATOL, rtol=ATOL):
            raise DigitzooError(f"the exported {lesson.name} net does not match eager PyTorch; not offered")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, final)
    return final
