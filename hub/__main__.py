"""`python -m digitzoo.hub ...` is `digitzoo ...`."""
import sys

from digitzoo.cli import main

sys.exit(main())
