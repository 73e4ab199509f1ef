"""``python -m slmswap``: the command line (same as the ``slmswap`` command)."""

from slmswap.cli import console_main

console_main()
