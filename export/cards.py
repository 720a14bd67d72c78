"""Model cards for exported files, with snippets that use each file on its own.

The snippets need nothing from digitzoo: onnxruntime + numpy + pillow for .onnx, plain torch
for .pt and .pt2. Tests run them in clean environments against the real files.
"""

from __future__ import annotations

from typing import Any

from digitzoo.hub.registry import ModelSpec
from digitzoo.hub.serving.manifest import ModelEntry

_LOAD_DIGIT = '''from PIL import Image
# Any dark digit on light paper -> 28x28, white ink on black, values in [0, 1] (MNIST layout).
# (For a centred result like the demo's, crop the ink and centre it first; see hub/serving/sketch.py.)
img = Image.open("digit.png").convert("L").resize((28, 28))
x = 1.0 - np.asarray(img, dtype=np.float32)[None, None] / 255.0  # (1, 1, 28, 28)
'''

SNIPPETS: dict[tuple[str, str], str] = {
    ("classifier", "onnx"): '''import numpy as np
import onnxruntime as ort
''' + _LOAD_DIGIT + '''session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
logits = session.run(None, {{"{in0}": x}})[0]  # (1, 10) scores for digits 0-9
print("digit:", int(logits.argmax()))
''',
    ("classifier", "torchscript"): '''import numpy as np
import torch
''' + _LOAD_DIGIT + '''model = torch.jit.load("{file}")
logits = model(torch.from_numpy(x)){first}
print("digit:", int(logits.argmax()))
''',
    ("classifier", "pt2"): '''import numpy as np
import torch
''' + _LOAD_DIGIT + '''model = torch.export.load("{file}").module()
logits = model(torch.from_numpy(x)){first}
print("digit:", int(logits.argmax()))
''',
    ("detector", "onnx"): '''import numpy as np
import onnxruntime as ort
''' + _LOAD_DIGIT + '''session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
scores = session.run(None, {{"{in0}": x}})[0]  # (1, 2): [digit, not a digit], calibrated
print("not a digit" if scores.argmax() == 1 else "a digit")
''',
    ("encoder", "onnx"): '''import numpy as np
import onnxruntime as ort
''' + _LOAD_DIGIT + '''session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
code = session.run(None, {{"{in0}": x}})[0]  # (1, 3): the digit's place in the latent space
print("code:", code[0].round(3).tolist())
''',
    ("decoder", "onnx"): '''import numpy as np
import onnxruntime as ort
from PIL import Image
session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
image = session.run(None, {{"{in0}": np.array([[0.0] * {dim0}], np.float32)}})[0]  # (1, 1, 28, 28) in [0, 1]
Image.fromarray((image[0, 0] * 255).astype(np.uint8)).save("decoded.png")
''',
    ("generator", "onnx"): '''import numpy as np
import onnxruntime as ort
from PIL import Image
session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
z = np.random.default_rng(0).standard_normal((10, {dim0})).astype(np.float32)
labels = np.arange(10, dtype=np.int64)  # one of each digit
images = session.run(None, {{"{in0}": z, "{in1}": labels}})[0]  # (10, 1, 28, 28) in [0, 1]
Image.fromarray((np.hstack(images[:, 0]) * 255).astype(np.uint8)).save("digits.png")
''',
    ("explainer", "onnx"): '''import numpy as np
import onnxruntime as ort
''' + _LOAD_DIGIT + '''session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
logits, saliency = session.run(None, {{"{in0}": x, "{in1}": np.array([7], np.int64)}})[:2]
print("digit:", int(logits.argmax()))
saliency = saliency[0, 0]  # (28, 28) input x gradient: > 0 pushed toward a 7, < 0 away from it
print("ink that most supports 7 at (row, col):", np.unravel_index(saliency.argmax(), saliency.shape))
''',
    ("any", "torchscript"): '''import torch
model = torch.jit.load("{file}")  # TorchScript: no Python class needed
print(model.code)
''',
    ("any", "pt2"): '''import torch
program = torch.export.load("{file}")  # ExportedProgram; .module() gives a callable
print(program.graph_signature)
''',
}


def snippet(artifact, file: str) -> str:
    """The code that uses one exported file on its own, chosen by its part's role (from the
    manifest's record of the file, which also covers parts export adds, like the explainer)."""
    template = SNIPPETS.get((artifact.role, artifact.format)) or SNIPPETS[("any", artifact.format)]
    # A part with more outputs (the LSTM's per-row beliefs) returns a tuple: the first is the prediction.
    first = "[0]" if len(artifact.outputs) > 1 else ""
    names = [t.name for t in artifact.inputs]
    return template.format(file=file, first=first, in0=names[0], in1=names[-1], dim0=artifact.inputs[0].shape[-1])


def _fmt_metric(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def model_readme(spec: ModelSpec, entry: ModelEntry) -> str:
    """README.md beside the exported files of one model."""
    lines = [f"# {spec.name}: {spec.title}", "", spec.summary, "",
             f"Parameters: {entry.parameters:,}. Trained with `{entry.checkpoint['command']}` "
             f"in {entry.checkpoint['wall_time_s']} s on {entry.checkpoint['device']}.", "",
             "## Metrics (MNIST test set, 10,000 images)", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt_metric(v)} |" for k, v in entry.metrics.items()]
    lines += ["", "## Files", "", "| part | format | file | bytes | sha256 | exporter |", "|---|---|---|---|---|---|"]
    for a in entry.artifacts:
        lines.append(f"| {a.part} | {a.format} | `{a.file.split('/')[-1]}` | {a.bytes:,} | "
                     f"`{a.sha256[:16]}…` | {a.exporter.split(';')[0]} |")
    lines += ["", "Inputs and outputs:", ""]
    seen = set()
    for a in entry.artifacts:
        if a.part in seen:
            continue
        seen.add(a.part)
        for direction in ("inputs", "outputs"):
            for t in getattr(a, direction):
                lines.append(f"- {a.part} {direction[:-1]} `{t.name}` {t.dtype} {t.shape}"
                             f"{' range ' + str(t.value_range) if t.value_range else ''}: {t.description}")
    lines += ["", "## Use a file on its own", ""]
    for a in entry.artifacts:
        file = a.file.split("/")[-1]
        lines += [f"### `{file}` ({a.format})", "", "```python", snippet(a, file).rstrip(), "```", ""]
    return "\n".join(lines)
