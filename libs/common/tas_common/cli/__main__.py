"""`python -m tas_common.cli ...` is `tas ...`."""

import sys

from . import main

sys.exit(main())
