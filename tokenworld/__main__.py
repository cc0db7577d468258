"""`python -m tokenworld` runs the command line."""

import sys

from tokenworld.cli import main

sys.exit(main())
