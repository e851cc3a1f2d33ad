"""Entry point for `python -m localize`."""

import sys

from localize.cli import main

sys.exit(main())
