"""Moved to :mod:`bot.sandbox.botapi.settings` (the sandbox's Bot API); this name stays so that older imports work:
it is the same module object, private names included."""

import sys

from bot.sandbox.botapi import settings

sys.modules[__name__] = settings
