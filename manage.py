#!/usr/bin/env python
"""Django's command-line utility; puts platform/ (a source folder, never a package) on the path first."""
import os
import sys
from pathlib import Path

from django.core.management import execute_from_command_line

ROOT = Path(__file__).resolve().parent


def main() -> None:
    sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
