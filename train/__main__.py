"""`python -m digitzoo.train NAME ...` is `digitzoo train NAME ...`."""

import sys

from digitzoo.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
