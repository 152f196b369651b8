"""Entry point of `python -m kpi`."""
import signal
import sys

from .cli import main, stop

# `timeout` and cron stop a command with SIGTERM: exit through Python, so that what the command
# made (a snapshot copy of a workspace) is removed on the way out.
signal.signal(signal.SIGTERM, stop)
sys.exit(main())
