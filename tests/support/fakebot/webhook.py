"""Moved to :mod:`bot.sandbox.botapi.webhook` (the sandbox's Bot API); this name stays so that older imports work:
it is the same module object, private names included."""

import sys

from bot.sandbox.botapi import webhook

sys.modules[__name__] = webhook
