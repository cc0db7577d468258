"""`python -m tokenworld` runs the command line."""

import sys

from tokenworld.cli import main

if __name__ == "__main__":
    sys.exit(main())
