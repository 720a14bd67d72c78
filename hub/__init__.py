"""digitzoo core: the model registry and specs, checkpoints, MNIST, the Playground's lessons,
publishing to the Hugging Face Hub, and `digitzoo.hub.serving`, the torch-free part a Space runs.

Every other package (the command line, train, export, apps) imports from here; nothing here
imports them.
"""

__version__ = "0.1.0"
