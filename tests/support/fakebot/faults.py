"""Moved to :mod:`bot.sandbox.botapi.faults` (the sandbox's Bot API); this name stays so that older imports work:
it is the same module object, private names included."""

import sys

from bot.sandbox.botapi import faults

sys.modules[__name__] = faults
