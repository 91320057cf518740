#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "groupware.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # Settings refuse to start with a message naming the variable: show that, not a traceback.
        sys.stderr.write(f"ruche: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
