"""The Playground's lessons: one file per classic PyTorch tutorial system (see ``lesson.py``).

Importing this package registers every lesson; the order here is the order of the tab.
"""

from digitzoo.hub.lessons import regression  # noqa: F401
