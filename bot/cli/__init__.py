"""Command-line interface: one module per subcommand, each exposing `register(subparsers)`.

A subcommand's handler takes the parsed arguments and returns the process exit code:
0 for success, 2 for bad input or configuration, or a database that cannot be used (with a
message on stderr, never a traceback);
1 when the output's reader went away before reading it all (`| head`).
"""

import argparse
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_OUTPUT_CLOSED = 1
