"""`python -m digitzoo.hub.cli ...` is `digitzoo ...` (what the reliability scripts start)."""

import sys

from digitzoo.hub.cli import main

sys.exit(main())
