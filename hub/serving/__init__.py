"""The serving core: what a Space runs, and nothing that needs torch.

Paths and the manifest of exported files, their checksums and safe reading (files, filechecks),
ONNX Runtime sessions (runtime), sketch preprocessing (sketch), the leaderboard and the errors
every layer raises. The import contract in pyproject.toml keeps torch out of it, directly or
through another module.
"""
