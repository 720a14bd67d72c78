"""`python -m digitzoo.apps ...` is `digitzoo serve ...`."""

import sys

from digitzoo.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
