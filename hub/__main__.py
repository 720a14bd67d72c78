"""`python -m digitzoo.hub ...` is `digitzoo ...`."""
import sys

from digitzoo.hub.cli import main

sys.exit(main())
