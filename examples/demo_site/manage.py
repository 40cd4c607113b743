#!/usr/bin/env python3
"""The demo login site's command line (its own Django project, apart from the platform's)."""

import os
import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    # Always the site's own settings, even when started beside the platform (whose
    # DJANGO_SETTINGS_MODULE may be in the environment).
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo_site.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
