"""Gradio apps on the exported models, served through digitzoo.hub.serving.runtime (no torch with ONNX)."""

from digitzoo.apps.startup import limit_gradio_analytics, skip_gradio_stub_writer

skip_gradio_stub_writer()  # before anything below imports gradio: halves `import gradio`
limit_gradio_analytics()
