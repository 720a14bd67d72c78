"""`python -m train NAME ...` is `digitzoo train NAME ...`."""

import sys

from hub.cli import main

sys.exit(main(["train", *sys.argv[1:]]))
