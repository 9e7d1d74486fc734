"""``python -m cli``: the finpulse command line."""

import logging

from cli.main import main

logging.captureWarnings(True)
main()
