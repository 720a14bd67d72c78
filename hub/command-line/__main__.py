"""`python -m digitzoo.cli ...` is `digitzoo ...` (what the reliability scripts start)."""

import sys

from digitzoo.cli import main

sys.exit(main())
