"""``python -m bot.cli``: the ``duban`` command line."""

import sys

from bot.cli.main import main

sys.exit(main())
