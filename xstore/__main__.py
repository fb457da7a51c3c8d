"""``python -m xstore``: the command line."""

import sys

from xstore.cli import main

sys.exit(main())
