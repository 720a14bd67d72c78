"""Gradio apps on the exported models, served through hub.runtime (no torch with ONNX)."""
