"""A lesson's trained net as an ONNX file, checked against eager PyTorch before it is handed out.

Only lessons marked ``exportable`` (regression, classification, RNN regression) offer it. The
file is opened through ``digitzoo.hub.runtime`` (the one place that runs exported files) and its
outputs compared with the eager module on the lesson's own example input before the file takes
its final name.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import numpy as np

from digitzoo.hub.errors import DigitzooError
from digitzoo.hub.lessons.lesson import Lesson
from digitzoo.hub.runtime import open_file

ATOL = 1e-4


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
    # visitor is waiting for the download.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
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
