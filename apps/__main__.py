"""`python -m apps ...` is `digitzoo serve ...`."""

import sys

from hub.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
