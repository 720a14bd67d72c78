"""digitzoo core: the model registry, paths, checkpoints and sketch preprocessing.

Every other package (train, export, apps) imports from here; nothing here imports them.
"""

__version__ = "0.1.0"
