"""``python -m cifar_search``."""

import sys

from cifar_search.cli import main

if __name__ == "__main__":
    sys.exit(main())
