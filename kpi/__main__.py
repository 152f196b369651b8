"""Entry point of `python -m kpi`."""
import sys

from .cli import main

sys.exit(main())
