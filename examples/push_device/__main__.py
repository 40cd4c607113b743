"""Run the reference device: `python -m push_device --help` from examples/."""

import sys

from .cli import main

sys.exit(main())
