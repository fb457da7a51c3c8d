"""``python -m xstore``: the command line."""

import sys

from xstore.tools.cli import main

sys.exit(main())
