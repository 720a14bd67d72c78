"""`python -m digitzoo.export NAME|all ...` is `digitzoo export NAME|all ...`."""

import sys

from digitzoo.cli import main

sys.exit(main(["export", *sys.argv[1:]]))
